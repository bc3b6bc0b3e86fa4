import type { ElectricitySnapshot } from '../electricity-meter.js';
import type { WaterSnapshot } from '../water-meter.js';
import type { Encoding } from '../../modbus/register-encoding.js';

/** One value in a device's register map, as its firmware serves it. */
export interface FirmwareRegister<S> {
  /** 3: holding registers, 4: input registers */
  fc: 3 | 4;
  address: number;
  encoding: Encoding;
  /** metric name the gateway's profile is expected to use for it */
  metric: string;
  /** cumulative counter (energy, volume) */
  counter?: boolean;
  value: (snapshot: S) => number;
}

/** A value the firmware splits over several registers (e.g. integer part + fraction), summed by readers. */
export interface CombinedValue {
  metric: string;
  parts: string[];
}

interface ModelCommon {
  id: string;
  combined?: CombinedValue[];
  /** the firmware refuses (exception 2) any read that touches an address outside its register map */
  strictAddressing?: boolean;
}

export type MeterModel =
  | (ModelCommon & { family: 'electricity'; registers: readonly FirmwareRegister<ElectricitySnapshot>[] })
  | (ModelCommon & { family: 'water'; registers: readonly FirmwareRegister<WaterSnapshot>[] });
