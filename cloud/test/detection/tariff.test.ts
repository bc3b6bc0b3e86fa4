import { describe, expect, it } from 'vitest';
import { TariffTable, tariffSchema } from '../../src/detection/index.js';

describe('tariffs', () => {
  it('prices a slot by time of use, the critical peak of its months winning over the peak', () => {
    const tariff = tariffSchema.parse({
      electricity: {
        periods: [
          { name: 'peak', price: 1.18, hours: [[8, 11], [18, 21]] },
          { name: 'flat', price: 0.74, hours: [[6, 8], [11, 18], [21, 22]] },
          { name: 'valley', price: 0.35, hours: [[0, 6], [22, 24]] },
          { name: 'critical', price: 1.5, hours: [[19, 21]], months: [7, 8] },
        ],
      },
      water: { price: 5.2 },
    });
    const table = new TariffTable(tariff);
    expect(table.priceAt('electricity', 1, 3)).toBe(0.35);
    expect(table.priceAt('electricity', 1, 19)).toBe(1.18);
    expect(table.priceAt('electricity', 7, 19)).toBe(1.5);
    expect(table.periodAt(7, 19)).toBe('critical');
    expect(table.priceAt('water', 5, 12)).toBe(5.2);
    expect(new TariffTable(undefined).has('electricity')).toBe(false);
  });

  it('refuses a tariff that leaves an hour without a price, naming it', () => {
    const result = tariffSchema.safeParse({ electricity: { periods: [{ name: 'flat', price: 0.7, hours: [[0, 22]] }] } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('no period covers 22:00 in month 1');
  });
});
