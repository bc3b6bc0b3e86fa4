import type { ElectricitySnapshot } from '../electricity-meter.js';
import type { Encoding } from '../../modbus/register-encoding.js';
import type { FirmwareRegister, MeterModel } from './meter-model.js';

// Acrel ADL400 secondary-side block: holding registers, 16-bit words, 32-bit values high word first.
const holding = (address: number, metric: string, encoding: Encoding, value: (s: ElectricitySnapshot) => number, counter = false): FirmwareRegister<ElectricitySnapshot> => ({
  fc: 3,
  address,
  encoding,
  metric,
  value,
  ...(counter ? { counter } : {}),
});

const u16 = (scale: number): Encoding => ({ type: 'uint16', order: 'ABCD', scale });
const watts: Encoding = { type: 'int32', order: 'ABCD' };
const kwh: Encoding = { type: 'uint32', order: 'ABCD', scale: 0.01 };

/** Acrel ADL400, direct-connected (transformer ratios 1), from the manufacturer's register table. */
export const ACREL_ADL400: MeterModel = {
  id: 'acrel-adl400',
  family: 'electricity',
  registers: [
    holding(0x0061, 'voltage_l1', u16(0.1), (s) => s.voltage[0]),
    holding(0x0062, 'voltage_l2', u16(0.1), (s) => s.voltage[1]),
    holding(0x0063, 'voltage_l3', u16(0.1), (s) => s.voltage[2]),
    holding(0x0064, 'current_l1', u16(0.01), (s) => s.current[0]),
    holding(0x0065, 'current_l2', u16(0.01), (s) => s.current[1]),
    holding(0x0066, 'current_l3', u16(0.01), (s) => s.current[2]),
    holding(0x0077, 'frequency', u16(0.01), (s) => s.frequency),
    holding(0x0164, 'active_power_l1', watts, (s) => s.activePower[0]),
    holding(0x0166, 'active_power_l2', watts, (s) => s.activePower[1]),
    holding(0x0168, 'active_power_l3', watts, (s) => s.activePower[2]),
    holding(0x016a, 'active_power', watts, (s) => s.totalActivePower),
    holding(0x017f, 'power_factor', { type: 'int16', order: 'ABCD', scale: 0.001 }, (s) => s.powerFactor),
    holding(0x000a, 'import_energy', kwh, (s) => s.importEnergyKwh, true),
    holding(0x0014, 'export_energy', kwh, (s) => s.exportEnergyKwh, true),
  ],
};
