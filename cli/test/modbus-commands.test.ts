import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedSite, type ServedRead, type SimulatedSite } from '@gatehouse/firmware-sim';

const BIN = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

// Asynchronous on purpose: the simulated meter answers from this process.
async function gatehouse(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gatehouse modbus (commissioning)', () => {
  let site: SimulatedSite;
  let port: string;
  const served: ServedRead[] = [];

  beforeAll(async () => {
    site = await startSimulatedSite(
      { modbusTcp: [{ port: 0, meters: [{ id: 'incomer', unitId: 5, model: 'schneider-iem3255', shape: 'office', ratedKw: 250, initialImportKwh: 77_000 }] }] },
      { logger: pino({ level: 'silent' }), onServe: (r) => served.push(r) },
    );
    port = String(site.modbusTcp[0]!.port);
  });
  afterAll(() => site.stop());

  it('read --json prints one object per point with the values the meter served', async () => {
    served.length = 0;
    const result = await gatehouse(['modbus', 'read', '--host', '127.0.0.1', '--port', port, '--unit', '5', '--profile', 'schneider-iem3255', '--json']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { metric: string; value: number; unit: string; quality: string });
    const servedValues: Record<string, number> = Object.assign({}, ...served.map((r) => r.values));
    expect(lines.map((l) => l.metric).sort()).toEqual(Object.keys(servedValues).sort());
    for (const line of lines) {
      expect(line).toMatchObject({ value: servedValues[line.metric], quality: 'good' });
      expect(typeof line.unit).toBe('string');
    }
  });

  it('read prints a table for people', async () => {
    const result = await gatehouse(['modbus', 'read', '--host', '127.0.0.1', '--port', port, '--unit', '5', '--profile', 'schneider-iem3255']);
    expect(result.stdout).toMatch(/^Schneider Electric iEM3255 \(schneider-iem3255\), unit 5, \d reads\n/);
    expect(result.stdout).toMatch(/ {2}import_energy +\d+(\.\d+)? kWh +good\n/);
  });

  it('probe shows a register in all four word orders', async () => {
    served.length = 0;
    const result = await gatehouse(['modbus', 'probe', '--host', '127.0.0.1', '--port', port, '--unit', '5', '--address', '3027', '--type', 'float32', '--json']);
    expect(result.code).toBe(0);
    const probe = JSON.parse(result.stdout) as { registers: number[]; decoded: Record<string, number> };
    expect(probe.registers).toHaveLength(2);
    expect(probe.decoded.ABCD).toBe(served[0]?.values.voltage_l1);
    expect(Object.keys(probe.decoded)).toEqual(['ABCD', 'CDAB', 'BADC', 'DCBA']);
  });

  it('says what is wrong with a bad command line or an unreachable device', async () => {
    expect(await gatehouse(['modbus', 'read', '--unit', '5', '--profile', 'nope', '--host', '127.0.0.1'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown profile "nope"; known: acrel-adl400, ') });
    expect(await gatehouse(['modbus', 'probe', '--unit', '5', '--address', '70000', '--host', 'x'])).toMatchObject({ code: 1, stderr: expect.stringContaining('--address must be an integer 0-65535') });
    expect(await gatehouse(['modbus', 'probe', '--unit', '6', '--address', '0', '--host', '127.0.0.1', '--port', port])).toMatchObject({
      code: 2,
      stderr: 'gatehouse: cannot read holding register 0 of unit 6: exception 11: gateway target device failed to respond\n',
    });
    // The register exists, in the other table: the probe says so.
    expect(await gatehouse(['modbus', 'probe', '--unit', '5', '--address', '3027', '--function', 'input', '--host', '127.0.0.1', '--port', port])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^gatehouse: cannot read input register 3027 of unit 5: exception 2: .*; it answers as a holding register: try --function holding\n$/),
    });
  });
});
