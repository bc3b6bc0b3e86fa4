import { z } from 'zod';

/** Accepts ISO 8601 ("2026-11-26T08:00:00+08:00") or epoch milliseconds; yields epoch ms. */
export const instantParam = z
  .string()
  .transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    // Year 1970 to 9999: what the database's timestamps and this API's epoch milliseconds can hold.
    if (!Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_999) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or epoch milliseconds, between 1970 and 9999' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'ISO 8601 time or epoch milliseconds', example: '2026-11-26T08:00:00+08:00' });

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `raw`, a rollup level (`15m`, `1h`, `1d`, `1mo`) or any duration (`30s`, `6h`, `7d`). */
export const stepParam = z
  .string()
  .regex(/^(raw|1mo|\d+(s|m|h|d))$/, 'expected raw, 1mo or a duration like 30s, 15m, 1h, 1d')
  .transform((text): { kind: 'raw' } | { kind: 'level'; level: '1mo' } | { kind: 'width'; ms: number } => {
    if (text === 'raw') return { kind: 'raw' };
    if (text === '1mo') return { kind: 'level', level: '1mo' };
    return { kind: 'width', ms: Number(text.slice(0, -1)) * (DURATION_UNITS[text.slice(-1)] ?? 0) };
  })
  .refine((step) => step.kind !== 'width' || step.ms >= 1000, 'expected a step of at least 1s')
  .meta({ description: 'raw, 15m, 1h, 1d, 1mo, or a width such as 1m or 6h', example: '15m' });
