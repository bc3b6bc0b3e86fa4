import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '@gatehouse/contracts';
import { cloudConfigSchema, loadCloudConfig } from '@gatehouse/cloud';
import { loadSimulatorConfig } from '@gatehouse/firmware-sim';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('cloud config', () => {
  it('accepts the shipped configs', () => {
    expect(loadCloudConfig(repo('examples/site-in-a-box/cloud.yaml')).storage).toEqual({ kind: 'pglite', dataDir: './data/pglite' });
    expect(loadCloudConfig(repo('examples/production/cloud-postgres.yaml')).storage.kind).toBe('postgres');
    const influx = loadCloudConfig(repo('examples/production/cloud-influxdb.yaml'));
    expect(influx.timeSeries).toEqual({ kind: 'influxdb', url: 'http://127.0.0.1:8086', database: 'gatehouse' });
    expect(influx.sites).toEqual([{ id: 'demo-site', name: 'Demo site', timeZone: 'Asia/Shanghai', buildings: [], assets: [], subMeters: {} }]);
    const demo = loadCloudConfig(repo('examples/site-in-a-box/cloud.yaml'));
    // The demo prices energy by time of use, every hour of the day covered.
    expect(demo.sites[0]?.tariff?.water).toEqual({ price: 5.2 });
    expect(demo.detection).toMatchObject({ enabled: true, everyMs: 60_000, calendar: 'cn' });
    expect(demo.workOrders.plans.map((p) => [p.key, p.template])).toEqual([
      ['b1-lift-a-15d', 'lift_15_day'],
      ['b2-lift-a-15d', 'lift_15_day'],
      ['fire-monthly', 'fire_monthly'],
      ['booster-pump-service', 'pump_service'],
    ]);
    expect(demo.sites[0]?.assets.flatMap((a) => a.devices).sort()).toEqual(['b1-main', 'b2-main', 'cam-carpark', 'cam-lobby', 'door-lobby', 'gate-carpark', 'podium-hvac', 'podium-retail', 'pump-room', 'water-main']);
    expect(loadCloudConfig(repo('deploy/compose/cloud.yaml')).mqtt?.url).toBe('mqtt://mosquitto:1883');
  });

  it('declares plans only on assets the same file declares, naming the one it does not know', () => {
    const config = (asset: string) =>
      [
        'embeddedBroker: { port: 1884 }',
        'storage: { kind: pglite }',
        'sites:',
        '  - { id: s1, assets: [{ id: lift-1, kind: lift }] }',
        'workOrders:',
        '  teams: [{ id: lifts, name: Lifts }]',
        `  plans: [{ key: l1, site: s1, asset: ${asset}, template: lift_15_day, team: lifts, startsOn: '2026-01-02' }]`,
        '',
      ].join('\n');
    expect(parseConfigText(config('lift-1'), 'cloud.yaml', cloudConfigSchema).workOrders.plans[0]).toMatchObject({ key: 'l1', asset: 'lift-1' });
    expect(() => parseConfigText(config('lift-2'), 'cloud.yaml', cloudConfigSchema)).toThrow('workOrders.plans[0].asset (line 7): no asset "lift-2" in the assets of site s1');
  });

  it('needs a broker: an mqtt section or the embedded one', () => {
    expect(() => parseConfigText('storage: { kind: pglite }\n', 'cloud.yaml', cloudConfigSchema)).toThrow(
      new ConfigError('cloud.yaml', [{ path: 'mqtt', message: 'expected an mqtt section (broker url), unless embeddedBroker is set' }]),
    );
  });

  it('names a bad connection string', () => {
    expect(() => parseConfigText('mqtt: { url: "mqtt://b:1883" }\nstorage: { kind: postgres, connectionString: "mysql://x" }\n', 'cloud.yaml', cloudConfigSchema)).toThrow(
      'storage.connectionString (line 2): expected a postgres:// connection string',
    );
  });

  it('names an unknown time zone, and parallel ingest without a shared group', () => {
    expect(() => parseConfigText('embeddedBroker: { port: 1884 }\nstorage: { kind: pglite }\nsites:\n  - { id: s1, timeZone: Asia/Shangai }\n', 'cloud.yaml', cloudConfigSchema)).toThrow(
      'sites[0].timeZone (line 4): expected an IANA time zone such as Asia/Shanghai',
    );
    expect(() =>
      parseConfigText('embeddedBroker: { port: 1884 }\nstorage: { kind: pglite }\nsites:\n  - id: s1\n    assets: [{ id: a1, kind: pump, building: b9 }]\n', 'cloud.yaml', cloudConfigSchema),
    ).toThrow('sites[0].assets[0].building (line 5): no building "b9" in this site\'s buildings');
    expect(() => parseConfigText('mqtt: { url: "mqtt://b:1883", ingestConnections: 2 }\nstorage: { kind: pglite }\n', 'cloud.yaml', cloudConfigSchema)).toThrow(
      'mqtt.ingestConnections (line 1): more than one ingest connection needs mqtt.sharedGroup',
    );
    expect(() => parseConfigText('embeddedBroker: { port: 1884 }\nstorage: { kind: pglite }\ntimeSeries: { kind: influxdb, url: "influx:8086" }\n', 'cloud.yaml', cloudConfigSchema)).toThrow(
      'timeSeries.url (line 3): expected http://host:port',
    );
  });
});

describe('simulator config', () => {
  it('accepts the shipped configs', () => {
    expect(loadSimulatorConfig(repo('examples/site-in-a-box/sim.yaml')).modbusTcp[0]?.meters).toHaveLength(6);
    expect(loadSimulatorConfig(repo('deploy/compose/sim.yaml')).modbusTcp[0]?.host).toBe('0.0.0.0');
  });
});
