import { describe, expect, it } from 'vitest';
import { epochToZonedInput, formatDateTime, formatShort, zonedInputToEpoch, zoneLabel } from '../src/shell/time.js';

describe('console times in the site zone', () => {
  it('reads a datetime-local value as wall-clock time of the site', () => {
    expect(zonedInputToEpoch('2025-03-04T21:07', 'Asia/Shanghai')).toBe(Date.UTC(2025, 2, 4, 13, 7));
    expect(zonedInputToEpoch('2025-03-04T21:07:30', 'UTC')).toBe(Date.UTC(2025, 2, 4, 21, 7, 30));
    expect(zonedInputToEpoch('not a time', 'UTC')).toBeUndefined();
  });

  it('is right on both sides of a daylight-saving change', () => {
    // New York: EST (UTC-5) until 2025-03-09 02:00, EDT (UTC-4) after
    expect(zonedInputToEpoch('2025-03-09T01:30', 'America/New_York')).toBe(Date.UTC(2025, 2, 9, 6, 30));
    expect(zonedInputToEpoch('2025-03-09T03:30', 'America/New_York')).toBe(Date.UTC(2025, 2, 9, 7, 30));
  });

  it('round-trips through the input format', () => {
    const ms = Date.UTC(2025, 10, 30, 16, 5);
    const input = epochToZonedInput(ms, 'Asia/Shanghai');
    expect(input).toBe('2025-12-01T00:05');
    expect(zonedInputToEpoch(input, 'Asia/Shanghai')).toBe(ms);
  });

  it('formats unambiguously, shortening only what is obvious', () => {
    const ms = Date.UTC(2025, 2, 4, 13, 7, 9);
    expect(formatDateTime(ms, 'Asia/Shanghai')).toBe('2025-03-04 21:07:09');
    expect(formatDateTime(null, 'Asia/Shanghai')).toBe('—');
    expect(formatShort(ms, 'Asia/Shanghai', ms + 60_000)).toBe('21:07:09');
    expect(formatShort(ms, 'Asia/Shanghai', ms + 86_400_000)).toBe('03-04 21:07');
    expect(formatShort(ms, 'Asia/Shanghai', ms + 400 * 86_400_000)).toBe('2025-03-04');
  });

  it('names the zone with its offset, and falls back to UTC for an unknown zone', () => {
    expect(zoneLabel('Asia/Shanghai')).toBe('Asia/Shanghai (UTC+08:00)');
    expect(formatDateTime(Date.UTC(2025, 0, 1), 'Not/AZone')).toBe('2025-01-01 00:00:00');
  });
});
