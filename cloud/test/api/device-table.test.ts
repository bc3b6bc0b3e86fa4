import { describe, expect, it } from 'vitest';
import { deviceTable } from '../../src/api/device-table.js';

describe('deviceTable', () => {
  it('keeps a shared axis as it is', () => {
    const t = deviceTable([
      { ts: [10, 20, 30], values: [1, 2, 3] },
      { ts: [10, 20, 30], values: [4, null, 6] },
    ]);
    expect(t).toEqual({ axis: [10, 20, 30], rows: [[1, 2, 3], [4, null, 6]] });
  });

  it('lays devices with different buckets on the union of their starts, null where one has none', () => {
    const t = deviceTable([
      { ts: [20, 30], values: [2, 3] },
      { ts: [], values: [] },
      { ts: [10, 30, 40], values: [1, 3, 4] },
    ]);
    expect(t.axis).toEqual([10, 20, 30, 40]);
    expect(t.rows).toEqual([[null, 2, 3, null], [null, null, null, null], [1, null, 3, 4]]);
  });

  it('answers an empty table for devices with no buckets', () => {
    expect(deviceTable([{ ts: [], values: [] }])).toEqual({ axis: [], rows: [[]] });
  });
});
