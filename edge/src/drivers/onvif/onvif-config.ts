import { z } from 'zod';
import { idSchema } from '@gatehouse/contracts';

/** An ONVIF camera (Profile S): device information, snapshots on demand, motion and tamper events. */
export const onvifCameraConfigSchema = z
  .object({
    id: idSchema,
    name: z.string().max(128).optional(),
    driver: z.literal('onvif'),
    /** the device service, e.g. http://192.168.1.64/onvif/device_service */
    url: z
      .string()
      .regex(/^https?:\/\/[^/\s]+\/\S*$/, 'expected the device service URL, e.g. http://192.168.1.64/onvif/device_service')
      .refine((u) => URL.canParse(u), 'expected a valid URL')
      // The URL is written into logs and error messages: credentials belong in username and password.
      .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), {
        message: 'the URL must not carry a user name or password (user:password@host): give them as username and password',
        abort: true,
      }),
    username: z.string().min(1).max(64),
    password: z.string().max(128),
    /** media profile token; the camera's first profile when absent */
    profile: z.string().min(1).max(64).optional(),
    events: z
      .object({
        motion: z.boolean().default(true),
        tamper: z.boolean().default(true),
      })
      .strict()
      .default({ motion: true, tamper: true }),
    /** how long one PullMessages may wait on the camera (ONVIF cameras must allow up to 60 s) */
    pullTimeoutS: z.number().int().min(1).max(60).default(10),
    /** termination time asked for the pull-point subscription; it is renewed before it runs out */
    subscriptionTtlS: z.number().int().min(10).max(3600).default(60),
    /** a camera that has not answered for this long is reported offline */
    offlineAfterMs: z.number().int().min(500).default(15_000),
    snapshotTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    /** for every SOAP request but PullMessages, which waits pullTimeoutS on top */
    requestTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict();

export type OnvifCameraConfig = z.output<typeof onvifCameraConfigSchema>;
