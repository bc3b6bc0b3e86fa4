import { z } from 'zod';
import { idSchema } from '@gatehouse/contracts';

function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false; // reported by the url check
  }
}

/** A Hikvision access-control panel or terminal reached over ISAPI (HTTP with Digest auth). */
export const isapiDeviceConfigSchema = z
  .object({
    id: idSchema,
    name: z.string().min(1).max(128).optional(),
    driver: z.literal('isapi'),
    /** the panel's base URL, e.g. http://192.168.1.64:80 (no path) */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\/[^/]+\/?$/i.test(u), { message: 'expected http://host:port or https://host:port, without a path' })
      // fetch refuses such URLs, and every failed attempt would log the password with the URL.
      .refine((u) => !hasCredentials(u), { message: 'the URL must not carry a user name or password: give them as username and password' }),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(128),
    /** doors the panel controls, numbered from 1 */
    doors: z.number().int().min(1).max(64).default(1),
    /** no byte on the alert stream (heartbeats included) for this long: the stream is judged stalled and reopened */
    stallTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** the panel is reported offline after it has not answered for this long */
    offlineAfterMs: z.number().int().min(100).max(3_600_000).default(15_000),
    /** how long one request may wait for the panel's answer */
    requestTimeoutMs: z.number().int().min(50).max(120_000).default(10_000),
    /** first and longest wait before reconnecting after the stream ended or failed */
    reconnectMinMs: z.number().int().min(10).max(600_000).default(1000),
    reconnectMaxMs: z.number().int().min(10).max(3_600_000).default(30_000),
  })
  .strict();

export type IsapiDeviceConfig = z.output<typeof isapiDeviceConfigSchema>;
