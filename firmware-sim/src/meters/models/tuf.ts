import type { MeterModel } from './meter-model.js';

/**
 * TUF-2000M ultrasonic flow meter: holding registers (REG n = address n-1), 32-bit values low word
 * first. The positive totalizer is split in two registers: an int32 integer part and a float32
 * fraction below 1.
 */
export const TUF_2000M: MeterModel = {
  id: 'tuf-2000m',
  family: 'water',
  registers: [
    { fc: 3, address: 0x0000, encoding: { type: 'float32', order: 'CDAB' }, metric: 'flow', value: (s) => s.flowM3h },
    { fc: 3, address: 0x0004, encoding: { type: 'float32', order: 'CDAB' }, metric: 'velocity', value: (s) => s.velocityMs },
    { fc: 3, address: 0x0008, encoding: { type: 'int32', order: 'CDAB' }, metric: 'volume_integer', counter: true, value: (s) => Math.floor(s.volumeM3) },
    { fc: 3, address: 0x000a, encoding: { type: 'float32', order: 'CDAB' }, metric: 'volume_fraction', value: (s) => s.volumeM3 - Math.floor(s.volumeM3) },
  ],
  combined: [{ metric: 'volume', parts: ['volume_integer', 'volume_fraction'] }],
};
