import { z } from 'zod';
import type { Commodity } from './findings.js';

/**
 * What a kWh or m³ costs on a site, in CNY. Electricity may be priced by time of use: China's provincial
 * grids bill commercial and industrial users by 峰 (peak), 平 (flat) and 谷 (valley) periods of the local
 * day, some with a 尖峰 (critical peak) in summer months.
 */
const hourRange = z
  .tuple([z.number().int().min(0).max(23), z.number().int().min(1).max(24)])
  .refine(([from, to]) => to > from, 'expected [fromHour, toHour] with toHour after fromHour (local hours, toHour exclusive, 24 = midnight)');

export const tariffSchema = z
  .object({
    electricity: z
      .union([
        z.object({ price: z.number().positive() }).strict(),
        z
          .object({
            periods: z
              .array(
                z
                  .object({
                    name: z.enum(['critical', 'peak', 'flat', 'valley']),
                    price: z.number().positive(),
                    hours: z.array(hourRange).min(1),
                    /** months (1–12) the period applies in; all when omitted (a summer critical peak, say) */
                    months: z.array(z.number().int().min(1).max(12)).optional(),
                  })
                  .strict(),
              )
              .min(1),
          })
          .strict()
          .superRefine((tariff, ctx) => {
            // Every hour of every month needs a price: a gap would make costs silently low.
            for (let month = 1; month <= 12; month++) {
              for (let hour = 0; hour < 24; hour++) {
                if (!tariff.periods.some((p) => (!p.months || p.months.includes(month)) && p.hours.some(([f, t]) => hour >= f && hour < t))) {
                  ctx.addIssue({ code: 'custom', path: ['periods'], message: `no period covers ${String(hour).padStart(2, '0')}:00 in month ${month}` });
                  return;
                }
              }
            }
          }),
      ])
      .optional(),
    water: z.object({ price: z.number().positive() }).strict().optional(),
  })
  .strict();

export type Tariff = z.output<typeof tariffSchema>;
export type TouPeriod = 'critical' | 'peak' | 'flat' | 'valley';
const PRIORITY: Record<TouPeriod, number> = { critical: 0, peak: 1, flat: 2, valley: 3 };

/** Prices by local month and hour, looked up per 15-minute slot. */
export class TariffTable {
  /** [month 0..11][hour 0..23] price and period, for electricity */
  private readonly electricity: { price: number; period: TouPeriod | null }[][] | undefined;
  private readonly water: number | undefined;

  constructor(tariff: Tariff | undefined) {
    this.water = tariff?.water?.price;
    const e = tariff?.electricity;
    if (!e) return;
    this.electricity = Array.from({ length: 12 }, (_, m) =>
      Array.from({ length: 24 }, (_, h) => {
        if ('price' in e) return { price: e.price, period: null };
        // Where periods overlap (a critical peak inside a peak), the higher-priced kind wins.
        const matching = e.periods
          .filter((p) => (!p.months || p.months.includes(m + 1)) && p.hours.some(([f, t]) => h >= f && h < t))
          .sort((a, b) => PRIORITY[a.name] - PRIORITY[b.name]);
        const chosen = matching[0]!;
        return { price: chosen.price, period: chosen.name };
      }),
    );
  }

  /** CNY per unit at a local month (1–12) and hour, or undefined when the commodity has no price. */
  priceAt(commodity: Commodity, month: number, hour: number): number | undefined {
    if (commodity === 'water') return this.water;
    if (commodity === 'electricity') return this.electricity?.[month - 1]?.[hour]?.price;
    return undefined;
  }

  periodAt(month: number, hour: number): TouPeriod | null {
    return this.electricity?.[month - 1]?.[hour]?.period ?? null;
  }

  has(commodity: Commodity): boolean {
    return commodity === 'water' ? this.water !== undefined : commodity === 'electricity' ? this.electricity !== undefined : false;
  }
}
