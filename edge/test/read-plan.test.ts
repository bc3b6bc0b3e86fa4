import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_PROFILE_DIR, loadProfiles, planReads, type ProfilePoint } from '@gatehouse/edge';

const sdm630 = loadProfiles([BUILT_IN_PROFILE_DIR]).get('eastron-sdm630');

function point(address: number, type: ProfilePoint['type'] = 'float32', fn: ProfilePoint['function'] = 'input'): ProfilePoint {
  return { metric: `m${address}`, address, function: fn, type, order: 'ABCD', scale: 1, offset: 0, unit: '', kind: 'gauge' };
}

describe('read planning', () => {
  it('reads the whole SDM630 profile in three requests, bridging small gaps', () => {
    expect(sdm630).toBeDefined();
    const plan = planReads(sdm630?.points ?? [], { maxGap: 16 });
    expect(plan.map((r) => [r.address, r.length, r.points.length])).toEqual([
      [0x0000, 18, 9],
      [0x0034, 24, 5],
      [0x0156, 2, 1],
    ]);
  });

  it('without gap bridging, reads only contiguous runs together', () => {
    const plan = planReads(sdm630?.points ?? [], { maxGap: 0 });
    expect(plan.map((r) => [r.address, r.length])).toEqual([
      [0x0000, 18],
      [0x0034, 2],
      [0x003e, 2],
      [0x0046, 6],
      [0x0156, 2],
    ]);
  });

  it('never exceeds 125 registers in one read', () => {
    const points = Array.from({ length: 100 }, (_, i) => point(i * 2));
    const plan = planReads(points, { maxGap: 16 });
    expect(plan.map((r) => r.length)).toEqual([124, 76]);
    expect(plan.flatMap((r) => r.points)).toHaveLength(100);
  });

  it('keeps holding and input registers in separate reads', () => {
    const plan = planReads([point(0, 'uint16', 'holding'), point(1, 'uint16', 'input'), point(2, 'uint16', 'holding')], { maxGap: 4 });
    expect(plan.map((r) => [r.function, r.address, r.length])).toEqual([
      ['holding', 0, 3],
      ['input', 1, 1],
    ]);
  });

  it('finds the built-in profile directory', () => {
    expect(BUILT_IN_PROFILE_DIR).toBe(fileURLToPath(new URL('../profiles/', import.meta.url)));
  });
});
