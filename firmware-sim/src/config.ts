import { z } from 'zod';
import { loadConfigFile } from '@gatehouse/contracts';
import { LOAD_SHAPE_NAMES, type LoadShapeName } from './meters/load-shape.js';

const simulatedMeterSchema = z.object({
  /** name used in logs and in the state file */
  id: z.string().min(1),
  unitId: z.number().int().min(1).max(247),
  model: z.literal('eastron-sdm630'),
  ratedKw: z.number().positive(),
  shape: z.enum(LOAD_SHAPE_NAMES as [LoadShapeName, ...LoadShapeName[]]),
  initialImportKwh: z.number().nonnegative().default(0),
});

const modbusTcpEndpointSchema = z.object({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port */
  port: z.number().int().min(0).max(65535),
  meters: z.array(simulatedMeterSchema).min(1),
});

export const simulatorConfigSchema = z
  .object({
    timeZone: z.string().default('Asia/Shanghai'),
    /** seed of the random noise, so a simulated site is reproducible */
    seed: z.number().int().default(1),
    /** where meters keep their energy registers between runs, as a real meter keeps them in flash */
    stateFile: z.string().optional(),
    modbusTcp: z.array(modbusTcpEndpointSchema).default([]),
  })
  .strict();

export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;

export function loadSimulatorConfig(file: string): SimulatorConfig {
  return loadConfigFile(file, simulatorConfigSchema);
}
