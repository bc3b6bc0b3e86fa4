import type { ElectricitySnapshot } from '../electricity-meter.js';
import type { Encoding } from '../../modbus/register-encoding.js';
import type { FirmwareRegister, MeterModel } from './meter-model.js';

// Schneider iEM3000 series: holding registers; the manual's register N is protocol address N-1.
const holding = (register: number, metric: string, encoding: Encoding, value: (s: ElectricitySnapshot) => number, counter = false): FirmwareRegister<ElectricitySnapshot> => ({
  fc: 3,
  address: register - 1,
  encoding,
  metric,
  value,
  ...(counter ? { counter } : {}),
});

const f32: Encoding = { type: 'float32', order: 'ABCD' };
/** Power registers hold kW. */
const kw: Encoding = { type: 'float32', order: 'ABCD', scale: 1000 };
/** Energy registers hold Wh in an INT64. */
const wh: Encoding = { type: 'int64', order: 'ABCD', scale: 0.001 };

/** Schneider iEM3255, from the register list of manual DOCA0005EN (register numbers as printed). */
export const SCHNEIDER_IEM3255: MeterModel = {
  id: 'schneider-iem3255',
  family: 'electricity',
  // Like many meters, refuses reads that touch unlisted registers.
  strictAddressing: true,
  registers: [
    holding(3000, 'current_l1', f32, (s) => s.current[0]),
    holding(3002, 'current_l2', f32, (s) => s.current[1]),
    holding(3004, 'current_l3', f32, (s) => s.current[2]),
    holding(3028, 'voltage_l1', f32, (s) => s.voltage[0]),
    holding(3030, 'voltage_l2', f32, (s) => s.voltage[1]),
    holding(3032, 'voltage_l3', f32, (s) => s.voltage[2]),
    holding(3054, 'active_power_l1', kw, (s) => s.activePower[0]),
    holding(3056, 'active_power_l2', kw, (s) => s.activePower[1]),
    holding(3058, 'active_power_l3', kw, (s) => s.activePower[2]),
    holding(3060, 'active_power', kw, (s) => s.totalActivePower),
    // Quadrant 1 (importing, inductive): the register holds the power factor itself.
    holding(3084, 'power_factor', f32, (s) => s.powerFactor),
    holding(3110, 'frequency', f32, (s) => s.frequency),
    holding(3204, 'import_energy', wh, (s) => s.importEnergyKwh, true),
    holding(3208, 'export_energy', wh, (s) => s.exportEnergyKwh, true),
  ],
};
