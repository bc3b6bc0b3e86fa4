import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfigFile, parseConfigText } from '@gatehouse/contracts';

const schema = z.object({
  name: z.string(),
  devices: z.array(z.object({ id: z.string(), port: z.number().int().max(65535) })),
});

function problemsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config files', () => {
  it('returns the validated config', () => {
    expect(parseConfigText('name: a\ndevices:\n  - { id: m1, port: 502 }\n', 'site.yaml', schema)).toEqual({ name: 'a', devices: [{ id: 'm1', port: 502 }] });
  });

  it('names the file, the path inside it, the line and what was expected', () => {
    const err = problemsOf(() => parseConfigText('name: a\ndevices:\n  - id: m1\n    port: "502x"\n', 'edge.yaml', schema));
    expect(err.file).toBe('edge.yaml');
    expect(err.problems).toEqual([{ path: 'devices[0].port', line: 4, message: 'Invalid input: expected number, received string' }]);
    expect(err.message).toBe('invalid config edge.yaml:\n  - devices[0].port (line 4): Invalid input: expected number, received string');
  });

  it('reports a missing key at the object that lacks it', () => {
    const err = problemsOf(() => parseConfigText('devices: []\n', 'cloud.yaml', schema));
    expect(err.problems[0]).toMatchObject({ path: 'name', message: 'Invalid input: expected string, received undefined' });
  });

  it('reports YAML syntax errors with their line', () => {
    const err = problemsOf(() => parseConfigText('name: a\ndevices: [\n', 'bad.yaml', schema));
    expect(err.problems[0]?.path).toBe('(yaml)');
    expect(err.problems[0]?.line).toBeGreaterThan(0);
  });

  it('reports a file that cannot be read', () => {
    const err = problemsOf(() => loadConfigFile('/nonexistent/gatehouse.yaml', schema));
    expect(err.message).toContain('invalid config /nonexistent/gatehouse.yaml');
    expect(err.problems[0]).toEqual({ path: '(file)', message: 'cannot be read: ENOENT' });
  });

  it('loads a file from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'name: b\ndevices: []\n');
    expect(loadConfigFile(file, schema)).toEqual({ name: 'b', devices: [] });
  });
});
