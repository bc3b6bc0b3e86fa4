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
    expect(loadCloudConfig(repo('deploy/compose/cloud.yaml')).mqtt?.url).toBe('mqtt://mosquitto:1883');
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
});

describe('simulator config', () => {
  it('accepts the shipped configs', () => {
    expect(loadSimulatorConfig(repo('examples/site-in-a-box/sim.yaml')).modbusTcp[0]?.meters).toHaveLength(6);
    expect(loadSimulatorConfig(repo('deploy/compose/sim.yaml')).modbusTcp[0]?.host).toBe('0.0.0.0');
  });
});
