import { idSchema } from '@gatehouse/contracts';
import { z } from 'zod';

/** 1 critical, 2 high, 3 medium, 4 low. */
const prioritySchema = z.number().int().min(1).max(4);

/** Priority of each alarm type, site-wide unless a site overrides it. */
const prioritiesSchema = z
  .object({
    /** a guard or resident pressed the duress button or used the duress code */
    duress: prioritySchema.default(1),
    /** a door opened without a valid credential or exit request */
    door_forced_open: prioritySchema.default(1),
    /** a reader, panel or camera housing was opened or torn off */
    tamper: prioritySchema.default(2),
    /** a door stayed open longer than its allowed time */
    door_held_open: prioritySchema.default(2),
    /** a gateway sent its death message, or has been silent for gatewaySilenceSeconds */
    gateway_offline: prioritySchema.default(2),
    /** a reader, panel or camera stopped answering its gateway */
    device_offline: prioritySchema.default(3),
    /** a gateway's journal holds entries older than backlogMinutes that it could not deliver */
    backlog_stale: prioritySchema.default(3),
    /** a meter has answered nothing but communication errors for commErrorMinutes */
    meter_comm_error: prioritySchema.default(3),
    /** a device reported a fault of its own */
    device_fault: prioritySchema.default(4),
    /** an ongoing energy finding (stuck meter, leak, base load, …) at least energyAnomalyConfidence sure */
    energy_anomaly: prioritySchema.default(4),
  })
  .strict();

/** One step of escalation: who is told when an alarm stays unacknowledged. */
const escalationLevelSchema = z
  .object({
    /** applies to alarms of this priority or more urgent (priority <= this) */
    priority: prioritySchema,
    /** sent once an alarm has been new (unacknowledged) for this long */
    unacknowledgedAfterSeconds: z.number().int().min(0).max(7 * 86_400),
    /** HTTP endpoints POSTed the alarm as JSON, signed with HMAC-SHA256 of their secret */
    webhooks: z
      .array(
        z
          .object({
            /** http:// or https:// endpoint */
            url: z.string().regex(/^https?:\/\/[^/\s]+/, 'expected an http:// or https:// url'),
            /** key of the x-gatehouse-signature header (HMAC-SHA256); at least 16 characters */
            secret: z.string().min(16, 'expected a secret of at least 16 characters'),
          })
          .strict(),
      )
      .default([]),
    /** e-mail addresses sent a plain-text message (needs smtp) */
    email: z.array(z.email()).default([]),
  })
  .strict();

/** The mail server escalation e-mails go through. */
const smtpSchema = z
  .object({
    /** mail server host name */
    host: z.string().min(1),
    /** 587 (STARTTLS) or 465 (secure) usually; 25 inside a private network */
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the first byte (port 465); false: STARTTLS when the server offers it */
    secure: z.boolean().default(false),
    /** login, when the server wants one */
    user: z.string().optional(),
    /** password of `user` */
    password: z.string().optional(),
    /** sender address, e.g. "Gatehouse <alarms@example.com>" */
    from: z.string().min(3),
  })
  .strict();

export const alarmsConfigSchema = z
  .object({
    /** priority per alarm type (1 critical … 4 low) */
    priorities: prioritiesSchema.prefault({}),
    /** per-site overrides of `priorities`: { site: { alarm type: priority } } */
    sitePriorities: z.record(idSchema, prioritiesSchema.partial()).default({}),
    /** a gateway that says it is online but has not been heard from for longer than this raises gateway_offline */
    gatewaySilenceSeconds: z.number().int().min(10).max(86_400).default(180),
    /** a meter answering only communication errors for this long raises meter_comm_error */
    commErrorMinutes: z.number().int().min(1).max(10_080).default(10),
    /** a gateway whose oldest undelivered journal entry is older than this raises backlog_stale */
    backlogMinutes: z.number().int().min(1).max(10_080).default(15),
    /** an ongoing energy finding at least this sure raises energy_anomaly (ended with the finding) */
    energyAnomalyConfidence: z.number().min(0.5).max(1).default(0.8),
    /** how often health checks, escalation and the notifier run */
    checkEveryMs: z.number().int().min(100).max(600_000).default(5000),
    /** who is told of alarms left unacknowledged, and when; levels apply in order of their delay */
    escalation: z.array(escalationLevelSchema).default([]),
    /** the mail server for escalation e-mails (required when any level has e-mail addresses) */
    smtp: smtpSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    config.escalation.forEach((level, i) => {
      if (level.email.length > 0 && config.smtp === undefined) {
        ctx.addIssue({ code: 'custom', path: ['escalation', i, 'email'], message: 'e-mail escalation needs an smtp section' });
      }
    });
  });

export type AlarmsConfig = z.output<typeof alarmsConfigSchema>;
export type AlarmsConfigInput = z.input<typeof alarmsConfigSchema>;
export type EscalationLevelConfig = AlarmsConfig['escalation'][number];
export type SmtpConfig = NonNullable<AlarmsConfig['smtp']>;
