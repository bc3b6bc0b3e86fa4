/**
 * Daily and weekly load shapes of the building types on a typical Chinese residential/commercial site.
 * Each shape is a fraction of the meter's rated power per local hour; minutes interpolate linearly so
 * that power changes smoothly, as a real feeder's does.
 */
export type LoadShapeName = 'office' | 'residential' | 'retail' | 'pump';

type HourlyProfile = readonly number[]; // 24 values, 0..1

const SHAPES: Record<LoadShapeName, { weekday: HourlyProfile; weekend: HourlyProfile }> = {
  // HVAC and lighting from 8:00 to 18:00, a lunch dip, servers and security lighting at night.
  office: {
    weekday: [0.22, 0.2, 0.2, 0.2, 0.2, 0.22, 0.3, 0.5, 0.8, 0.92, 0.95, 0.9, 0.75, 0.88, 0.95, 0.93, 0.9, 0.8, 0.6, 0.42, 0.33, 0.28, 0.25, 0.23],
    weekend: [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.22, 0.25, 0.3, 0.32, 0.33, 0.33, 0.32, 0.32, 0.33, 0.32, 0.3, 0.28, 0.26, 0.24, 0.22, 0.21, 0.2, 0.2],
  },
  // Morning and evening peaks, cooking and air conditioning.
  residential: {
    weekday: [0.3, 0.25, 0.22, 0.2, 0.2, 0.24, 0.45, 0.65, 0.5, 0.35, 0.32, 0.4, 0.5, 0.38, 0.33, 0.33, 0.38, 0.55, 0.8, 0.95, 0.92, 0.8, 0.6, 0.42],
    weekend: [0.35, 0.28, 0.24, 0.22, 0.21, 0.22, 0.3, 0.45, 0.6, 0.62, 0.6, 0.65, 0.68, 0.58, 0.55, 0.55, 0.6, 0.7, 0.88, 0.98, 0.95, 0.82, 0.65, 0.48],
  },
  // Shops open 10:00-22:00 every day.
  retail: {
    weekday: [0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.2, 0.35, 0.7, 0.88, 0.9, 0.92, 0.9, 0.9, 0.9, 0.92, 0.95, 0.97, 0.97, 0.95, 0.85, 0.5, 0.2],
    weekend: [0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.2, 0.4, 0.78, 0.95, 0.98, 1.0, 0.98, 0.98, 0.98, 1.0, 1.0, 1.0, 1.0, 0.97, 0.88, 0.52, 0.2],
  },
  // Domestic water booster pumps follow water demand: morning and evening.
  pump: {
    weekday: [0.2, 0.15, 0.12, 0.12, 0.15, 0.3, 0.7, 0.9, 0.7, 0.45, 0.4, 0.5, 0.6, 0.45, 0.35, 0.35, 0.4, 0.6, 0.85, 0.95, 0.85, 0.65, 0.45, 0.3],
    weekend: [0.25, 0.18, 0.14, 0.13, 0.14, 0.22, 0.45, 0.7, 0.85, 0.75, 0.6, 0.6, 0.65, 0.5, 0.4, 0.4, 0.45, 0.65, 0.88, 0.95, 0.88, 0.7, 0.5, 0.35],
  },
};

export const LOAD_SHAPE_NAMES = Object.keys(SHAPES) as LoadShapeName[];

interface LocalTime {
  weekday: number; // 0 = Sunday
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The last minute looked up per time zone: thousands of meters ask about the same minute. */
const lastMinute = new Map<string, { minute: number; time: LocalTime }>();

function localTime(epochMs: number, timeZone: string): LocalTime {
  const minute = Math.floor(epochMs / 60_000);
  const cached = lastMinute.get(timeZone);
  if (cached?.minute === minute) return cached.time;
  const time = formatLocalTime(epochMs, timeZone);
  lastMinute.set(timeZone, { minute, time });
  return time;
}

function formatLocalTime(epochMs: number, timeZone: string): LocalTime {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', hour: 'numeric', minute: 'numeric' });
    formatters.set(timeZone, fmt);
  }
  const parts = fmt.formatToParts(new Date(epochMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  return { weekday, hour: Number(get('hour')), minute: Number(get('minute')) };
}

/** Fraction (0..1) of rated load at a moment, in the site's time zone. */
export function loadFactor(shape: LoadShapeName, epochMs: number, timeZone: string): number {
  const { weekday, hour, minute } = localTime(epochMs, timeZone);
  const weekend = weekday === 0 || weekday === 6;
  const profile = weekend ? SHAPES[shape].weekend : SHAPES[shape].weekday;
  const here = profile[hour] ?? 0;
  const next = profile[(hour + 1) % 24] ?? here;
  return here + ((next - here) * minute) / 60;
}

/**
 * Fraction of rated load at a local hour and minute of a working day or a rest day: the shapes without
 * the weekday lookup, for generators that follow a working calendar (holidays, make-up working days).
 */
export function shapeFactor(shape: LoadShapeName, restDay: boolean, hour: number, minute: number): number {
  const profile = restDay ? SHAPES[shape].weekend : SHAPES[shape].weekday;
  const here = profile[hour] ?? 0;
  const next = profile[(hour + 1) % 24] ?? here;
  return here + ((next - here) * minute) / 60;
}
