import type { ElectricitySnapshot } from '../electricity-meter.js';
import type { FirmwareRegister, MeterModel } from './meter-model.js';

// Eastron SDM series: input registers (FC04), every value an IEEE 754 float32, high word first.
const f32 = { type: 'float32', order: 'ABCD' } as const;
const input = (address: number, metric: string, value: (s: ElectricitySnapshot) => number, counter = false): FirmwareRegister<ElectricitySnapshot> => ({
  fc: 4,
  address,
  encoding: f32,
  metric,
  value,
  ...(counter ? { counter } : {}),
});

/** Eastron SDM630, three-phase, from the manufacturer's input register table. */
export const EASTRON_SDM630: MeterModel = {
  id: 'eastron-sdm630',
  family: 'electricity',
  registers: [
    input(0x0000, 'voltage_l1', (s) => s.voltage[0]),
    input(0x0002, 'voltage_l2', (s) => s.voltage[1]),
    input(0x0004, 'voltage_l3', (s) => s.voltage[2]),
    input(0x0006, 'current_l1', (s) => s.current[0]),
    input(0x0008, 'current_l2', (s) => s.current[1]),
    input(0x000a, 'current_l3', (s) => s.current[2]),
    input(0x000c, 'active_power_l1', (s) => s.activePower[0]),
    input(0x000e, 'active_power_l2', (s) => s.activePower[1]),
    input(0x0010, 'active_power_l3', (s) => s.activePower[2]),
    input(0x0034, 'active_power', (s) => s.totalActivePower),
    input(0x003e, 'power_factor', (s) => s.powerFactor),
    input(0x0046, 'frequency', (s) => s.frequency),
    input(0x0048, 'import_energy', (s) => s.importEnergyKwh, true),
    input(0x004a, 'export_energy', (s) => s.exportEnergyKwh, true),
    input(0x0156, 'total_energy', (s) => s.importEnergyKwh + s.exportEnergyKwh, true),
  ],
};

/** Eastron SDM120, single-phase: the load sits on the first phase of the simulated feeder. */
export const EASTRON_SDM120: MeterModel = {
  id: 'eastron-sdm120',
  family: 'electricity',
  registers: [
    input(0x0000, 'voltage', (s) => s.voltage[0]),
    input(0x0006, 'current', (s) => s.totalActivePower / (s.voltage[0] * s.powerFactor)),
    input(0x000c, 'active_power', (s) => s.totalActivePower),
    input(0x0012, 'apparent_power', (s) => s.totalActivePower / s.powerFactor),
    input(0x0018, 'reactive_power', (s) => (s.totalActivePower / s.powerFactor) * Math.sqrt(1 - s.powerFactor ** 2)),
    input(0x001e, 'power_factor', (s) => s.powerFactor),
    input(0x0046, 'frequency', (s) => s.frequency),
    input(0x0048, 'import_energy', (s) => s.importEnergyKwh, true),
    input(0x004a, 'export_energy', (s) => s.exportEnergyKwh, true),
    input(0x0156, 'total_energy', (s) => s.importEnergyKwh + s.exportEnergyKwh, true),
  ],
};
