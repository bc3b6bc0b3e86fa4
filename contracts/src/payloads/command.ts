import { z } from 'zod';
import { idSchema } from '../ids.js';
import { timestampMsSchema } from './reading.js';

/** Published by the cloud on `gh/v1/{site}/{gateway}/cmd/{name}`. */
export const commandSchema = z.object({
  v: z.literal(1),
  /** unique command id; the gateway executes a given id at most once */
  id: z.string().min(1).max(64),
  /** the user (or system component) that issued the command, for the audit log */
  issuedBy: z.string().min(1).max(128),
  issuedAt: timestampMsSchema,
  /** the gateway refuses the command after this time */
  expiresAt: timestampMsSchema,
  args: z.record(z.string(), z.unknown()).default({}),
});

export type Command = z.infer<typeof commandSchema>;

/** Published by the gateway on `gh/v1/{site}/{gateway}/cmd-result`. */
export const commandResultSchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  command: z.string().max(64),
  status: z.enum(['ok', 'failed', 'rejected', 'expired', 'duplicate']),
  detail: z.string().max(512).optional(),
  /** structured outcome, per command (resend: which ranges the journal no longer holds) */
  data: z.record(z.string(), z.unknown()).optional(),
  ts: timestampMsSchema,
});

export type CommandResult = z.infer<typeof commandResultSchema>;

/** Command names the gateway understands. */
export const COMMAND_NAMES = { resend: 'resend', rebirth: 'rebirth', door: 'door', snapshot: 'snapshot' } as const;

/**
 * The longest a command may live (expiresAt − issuedAt): a gateway remembers each command id it ran
 * until the command expires, so a replay is refused; a command that never expires could not be.
 */
export const MAX_COMMAND_LIFETIME_MS = 10 * 60_000;

/** `door`: open (release the strike for durationMs) or close (lock now) one door of an access device. */
export const doorCommandArgsSchema = z
  .object({
    /** the access-control device (OSDP reader, ISAPI panel) */
    device: z.string().min(1).max(64),
    /** the door on the device: '1', '2', … on a panel ('door' on a single-door reader); absent: the device's only door */
    door: z.string().min(1).max(16).optional(),
    action: z.enum(['open', 'close']),
    durationMs: z.number().int().min(1000).max(600_000).optional(),
  })
  .strict();

export type DoorCommandArgs = z.infer<typeof doorCommandArgsSchema>;

/** `resend`: publish journal entries from..to of a stream again (historical), as far as the journal still has them. */
export const resendArgsSchema = z
  .object({
    stream: z.enum(['telemetry', 'events']),
    from: z.number().int().min(1),
    to: z.number().int().min(1),
  })
  .strict()
  .refine((a) => a.to >= a.from && a.to - a.from < 1_000_000, { path: ['to'], message: 'expected from <= to, and fewer than a million entries' });

export type ResendArgs = z.infer<typeof resendArgsSchema>;

/** What a gateway reports after a resend: the ranges it could not send because its journal no longer holds them. */
export const resendResultDataSchema = z.object({
  stream: z.enum(['telemetry', 'events']),
  unavailable: z.array(z.tuple([z.number().int().min(1), z.number().int().min(1)])).max(10_000),
  /**
   * the parts of `unavailable` the gateway's journal skipped after an unclean stop: numbers that were
   * never issued, or entries lost with the power before they were synced
   */
  skipped: z.array(z.tuple([z.number().int().min(1), z.number().int().min(1)])).max(10_000).optional(),
});

/** `snapshot`: a still image from one camera, taken now (a guard looking at a door). */
export const snapshotCommandArgsSchema = z
  .object({
    /** the camera */
    device: idSchema,
  })
  .strict();

export type SnapshotCommandArgs = z.infer<typeof snapshotCommandArgsSchema>;

/**
 * Largest picture a snapshot result carries, in base64 characters: as an event attachment, about
 * 1.4 MB of image. A command result stays far below the 8 MiB of a message.
 */
export const MAX_SNAPSHOT_BASE64 = 2_000_000;

/** What a gateway reports with a successful `snapshot`: the picture itself (keys beyond these are ignored). */
export const snapshotResultDataSchema = z.object({
  contentType: z.enum(['image/jpeg', 'image/png']),
  /** when the camera was asked for it, epoch ms */
  ts: timestampMsSchema,
  dataBase64: z.base64('expected the image in base64').min(4, 'expected an image').max(MAX_SNAPSHOT_BASE64, `expected at most ${MAX_SNAPSHOT_BASE64} base64 characters`),
});

export type SnapshotResultData = z.infer<typeof snapshotResultDataSchema>;
