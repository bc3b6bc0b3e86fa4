import { z } from 'zod';

/**
 * Site, gateway and device ids appear as MQTT topic levels and URL path segments, so they must not
 * contain '/', '+', '#' or whitespace. Lower-case keeps them stable across case-insensitive tools.
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'expected an id of 1-64 characters: a-z, 0-9, "_", "-" or ".", starting with a letter or digit');

export type Id = z.infer<typeof idSchema>;
