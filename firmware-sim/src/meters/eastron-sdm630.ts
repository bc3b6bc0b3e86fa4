import type { ElectricitySnapshot } from './electricity-meter.js';

/**
 * The register map of the Eastron SDM630 as its firmware serves it: input registers (FC04), each value a
 * float32 in two registers, high word first (ABCD). Written from the manufacturer's register table,
 * independently of the gateway's profile files, so a mistake in either shows up as a mismatch.
 */
export interface FirmwareRegister {
  address: number;
  /** metric name the gateway's profile is expected to use for it */
  metric: string;
  value: (s: ElectricitySnapshot) => number;
}

export const SDM630_INPUT_REGISTERS: readonly FirmwareRegister[] = [
  { address: 0x0000, metric: 'voltage_l1', value: (s) => s.voltage[0] },
  { address: 0x0002, metric: 'voltage_l2', value: (s) => s.voltage[1] },
  { address: 0x0004, metric: 'voltage_l3', value: (s) => s.voltage[2] },
  { address: 0x0006, metric: 'current_l1', value: (s) => s.current[0] },
  { address: 0x0008, metric: 'current_l2', value: (s) => s.current[1] },
  { address: 0x000a, metric: 'current_l3', value: (s) => s.current[2] },
  { address: 0x000c, metric: 'active_power_l1', value: (s) => s.activePower[0] },
  { address: 0x000e, metric: 'active_power_l2', value: (s) => s.activePower[1] },
  { address: 0x0010, metric: 'active_power_l3', value: (s) => s.activePower[2] },
  { address: 0x0034, metric: 'active_power', value: (s) => s.totalActivePower },
  { address: 0x003e, metric: 'power_factor', value: (s) => s.powerFactor },
  { address: 0x0046, metric: 'frequency', value: (s) => s.frequency },
  { address: 0x0048, metric: 'import_energy', value: (s) => s.importEnergyKwh },
  { address: 0x004a, metric: 'export_energy', value: (s) => s.exportEnergyKwh },
  { address: 0x0156, metric: 'total_energy', value: (s) => s.importEnergyKwh + s.exportEnergyKwh },
];

/** Registers are two 16-bit words per float32. */
export const SDM630_REGISTERS_PER_VALUE = 2;
