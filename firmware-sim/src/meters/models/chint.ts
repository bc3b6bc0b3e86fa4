import type { ElectricitySnapshot } from '../electricity-meter.js';
import type { Encoding } from '../../modbus/register-encoding.js';
import type { FirmwareRegister, MeterModel } from './meter-model.js';

// Chint DTSU666: holding registers (FC03), float32 high word first, carrying raw numbers with fixed scales.
const holding = (address: number, metric: string, scale: number, value: (s: ElectricitySnapshot) => number, counter = false): FirmwareRegister<ElectricitySnapshot> => {
  const encoding: Encoding = { type: 'float32', order: 'ABCD', ...(scale !== 1 ? { scale } : {}) };
  return { fc: 3, address, encoding, metric, value, ...(counter ? { counter } : {}) };
};

/** Chint DTSU666 (native Chint firmware), from the manufacturer's register table. */
export const CHINT_DTSU666: MeterModel = {
  id: 'chint-dtsu666',
  family: 'electricity',
  registers: [
    holding(0x2006, 'voltage_l1', 0.1, (s) => s.voltage[0]),
    holding(0x2008, 'voltage_l2', 0.1, (s) => s.voltage[1]),
    holding(0x200a, 'voltage_l3', 0.1, (s) => s.voltage[2]),
    holding(0x200c, 'current_l1', 0.001, (s) => s.current[0]),
    holding(0x200e, 'current_l2', 0.001, (s) => s.current[1]),
    holding(0x2010, 'current_l3', 0.001, (s) => s.current[2]),
    holding(0x2012, 'active_power', 0.1, (s) => s.totalActivePower),
    holding(0x2014, 'active_power_l1', 0.1, (s) => s.activePower[0]),
    holding(0x2016, 'active_power_l2', 0.1, (s) => s.activePower[1]),
    holding(0x2018, 'active_power_l3', 0.1, (s) => s.activePower[2]),
    holding(0x202a, 'power_factor', 0.001, (s) => s.powerFactor),
    holding(0x2044, 'frequency', 0.01, (s) => s.frequency),
    holding(0x101e, 'import_energy', 1, (s) => s.importEnergyKwh, true),
    holding(0x1028, 'export_energy', 1, (s) => s.exportEnergyKwh, true),
  ],
};
