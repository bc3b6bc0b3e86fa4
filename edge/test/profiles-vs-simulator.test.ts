import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METER_MODELS, startSimulatedSite, type ServedRead, type SimulatedSite } from '@gatehouse/firmware-sim';
import { DriverFactory, profiles, silent } from './support/modbus-fixtures.js';

// Every built-in profile has a simulated model written independently from the vendor's register table;
// reading one with the other must give exactly what was served.
const models = Object.keys(METER_MODELS).sort();

describe('built-in profiles against the simulated firmware', () => {
  let site: SimulatedSite;
  const served: ServedRead[] = [];
  const factory = new DriverFactory();

  beforeAll(async () => {
    site = await startSimulatedSite(
      {
        modbusTcp: [
          {
            port: 0,
            meters: models.map((model, i) =>
              METER_MODELS[model]?.family === 'water'
                ? { id: model, unitId: i + 1, model, shape: 'pump' as const, ratedM3h: 120, initialM3: 48_211.5 }
                : { id: model, unitId: i + 1, model, shape: 'office' as const, ratedKw: 90, initialImportKwh: 123_456.78 },
            ),
          },
        ],
      },
      { logger: silent, onServe: (r) => served.push(r) },
    );
  });

  afterAll(async () => {
    await factory.closeAll();
    await site.stop();
  });

  it('has a simulated model for every built-in profile', () => {
    expect(models).toEqual([...profiles.keys()].sort());
  });

  it.each(models)('%s: every point decodes to exactly the value served, in the fewest reads', async (model) => {
    const unitId = models.indexOf(model) + 1;
    const driver = factory.driver(factory.connection({ kind: 'tcp', host: '127.0.0.1', port: site.modbusTcp[0]!.port }), model, unitId);
    served.length = 0;
    const readings = await driver.pollOnce();
    expect(served).toHaveLength(driver.plan.length);
    const servedValues: Record<string, number> = Object.assign({}, ...served.map((r) => r.values));
    expect(readings.map((r) => r.metric).sort()).toEqual(Object.keys(servedValues).sort());
    for (const r of readings) {
      expect(r.quality, r.metric).toBe('good');
      expect(r.value, r.metric).toBe(servedValues[r.metric]);
    }
  });
});
