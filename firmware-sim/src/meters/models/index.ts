import { ACREL_ADL400 } from './acrel.js';
import { CHINT_DTSU666 } from './chint.js';
import { EASTRON_SDM120, EASTRON_SDM630 } from './eastron.js';
import type { MeterModel } from './meter-model.js';
import { SCHNEIDER_IEM3255 } from './schneider.js';
import { TUF_2000M } from './tuf.js';

/** Every meter model the simulator implements, by the id of the gateway profile it should match. */
export const METER_MODELS: Record<string, MeterModel> = Object.fromEntries(
  [EASTRON_SDM630, EASTRON_SDM120, CHINT_DTSU666, ACREL_ADL400, SCHNEIDER_IEM3255, TUF_2000M].map((m) => [m.id, m]),
);

export const ELECTRICITY_MODEL_IDS = Object.values(METER_MODELS).filter((m) => m.family === 'electricity').map((m) => m.id);
export const WATER_MODEL_IDS = Object.values(METER_MODELS).filter((m) => m.family === 'water').map((m) => m.id);

export type { FirmwareRegister, MeterModel } from './meter-model.js';
