/**
 * Times shown in the site's own time zone (a guard in Shanghai and an engineer abroad read the same
 * wall-clock time for the same event). Formats are unambiguous in both languages: 2025-03-04 21:07:09.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Creating a DateTimeFormat is costly; a handful of zones are in use, so keep one per zone. */
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      // an unknown zone name from the server: UTC rather than nothing
      f = partsFormatter('UTC');
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function wallClock(ms: number, timeZone: string): WallClock {
  const out: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of partsFormatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type in out) out[p.type as keyof WallClock] = Number(p.value);
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatDate(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

export function formatDateTime(ms: number | null | undefined, timeZone: string): string {
  if (ms === null || ms === undefined) return '—';
  const w = wallClock(ms, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** Today's times as 21:07:09, older ones with their date: what a queue row has room for. */
export function formatShort(ms: number, timeZone: string, now: number = Date.now()): string {
  const w = wallClock(ms, timeZone);
  const today = wallClock(now, timeZone);
  const time = `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  if (w.year === today.year && w.month === today.month && w.day === today.day) return time;
  if (w.year === today.year) return `${pad(w.month)}-${pad(w.day)} ${time.slice(0, 5)}`;
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** To the minute: 21:07 today, 12-06 17:01 on another day of this year (due times, plans). */
export function formatMinute(ms: number, timeZone: string, now: number = Date.now()): string {
  const w = wallClock(ms, timeZone);
  const today = wallClock(now, timeZone);
  const time = `${pad(w.hour)}:${pad(w.minute)}`;
  if (w.year === today.year && w.month === today.month && w.day === today.day) return time;
  if (w.year === today.year) return `${pad(w.month)}-${pad(w.day)} ${time}`;
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${time}`;
}

/** Milliseconds the zone is ahead of UTC at that instant. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * A `<input type="datetime-local">` value ('2025-03-04T21:07') read as wall-clock time in the zone,
 * to epoch ms; undefined when empty or malformed.
 */
export function zonedInputToEpoch(value: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  // the offset at the guess, then again at the result: right across a DST change too
  let epoch = asUtc - zoneOffsetMs(asUtc, timeZone);
  epoch = asUtc - zoneOffsetMs(epoch, timeZone);
  return epoch;
}

export function epochToZonedInput(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** '+08:00' style label of the zone's offset now, shown beside time inputs. */
export function zoneLabel(timeZone: string, now: number = Date.now()): string {
  const minutes = Math.round(zoneOffsetMs(now, timeZone) / 60_000);
  const sign = minutes < 0 ? '−' : '+';
  const abs = Math.abs(minutes);
  return `${timeZone} (UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}
