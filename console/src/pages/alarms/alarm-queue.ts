import { useSyncExternalStore } from 'react';
import { api } from '../../shell/api-client';
import type { Alarm } from '../../shell/api-types';
import { live } from '../../shell/live';
import { ALL_SITES } from '../../shell/session';
import { alarmSound } from './alarm-sound';

/**
 * The open alarms of every site the user sees, kept current from the live feed for as long as the
 * user is logged in — on every page, so that a new alarm rings wherever the guard is.
 *
 * Each alarm is one entry object; an update replaces only that alarm's entry, so a memoised row of
 * an unchanged alarm is not drawn again.
 */

export interface QueueEntry {
  alarm: Alarm;
  /** when it arrived or changed through the live feed (the row flashes); 0 for loaded ones */
  flash: number;
}

export type QueueStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface QueueSnapshot {
  /** ordered: priority (1 first), then last occurrence, newest first */
  entries: readonly QueueEntry[];
  status: QueueStatus;
  error: unknown;
}

/** The queue never holds more than this; past it the lowest-ranked alarms are left to the server. */
export const MAX_QUEUE = 2000;
const PAGE_SIZE = 200;
/** An unacknowledged critical alarm rings again this often until someone acknowledges it. */
const REMINDER_MS = 30_000;

export function compareAlarms(a: Alarm, b: Alarm): number {
  return a.priority - b.priority || b.lastAt - a.lastAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function isAlarmOpen(alarm: Alarm): boolean {
  return alarm.state !== 'closed';
}

class AlarmQueue {
  private readonly byId = new Map<string, QueueEntry>();
  private snapshot: QueueSnapshot = { entries: [], status: 'idle', error: null };
  private readonly listeners = new Set<() => void>();
  private unsubscribeLive: (() => void) | null = null;
  private reminder: ReturnType<typeof setInterval> | null = null;
  private loadGeneration = 0;
  private focusSite = ALL_SITES;

  start(): void {
    if (this.unsubscribeLive) return;
    this.unsubscribeLive = live.subscribe({
      alarm: (alarm) => this.apply(alarm, true),
      resync: () => void this.load(),
    });
    this.reminder = setInterval(() => this.remind(), REMINDER_MS);
    void this.load();
  }

  stop(): void {
    this.unsubscribeLive?.();
    this.unsubscribeLive = null;
    if (this.reminder) clearInterval(this.reminder);
    this.reminder = null;
    this.loadGeneration++;
    this.byId.clear();
    this.publish({ status: 'idle', error: null });
  }

  /** The site the top bar shows: only its alarms ring (all of them with ALL_SITES). */
  setFocusSite(site: string): void {
    this.focusSite = site;
  }

  getSnapshot = (): QueueSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Loads the open alarms again; what the live feed brought in meanwhile wins when it is newer. */
  async load(): Promise<void> {
    const generation = ++this.loadGeneration;
    const startedAt = Date.now();
    this.publish({ status: 'loading', error: null });
    const fetched: Alarm[] = [];
    try {
      let cursor: string | null = null;
      do {
        const page: { alarms: Alarm[]; nextCursor: string | null } = await api.get('/alarms', { state: 'open', limit: PAGE_SIZE, cursor });
        fetched.push(...page.alarms);
        cursor = page.nextCursor;
      } while (cursor && fetched.length < MAX_QUEUE);
    } catch (error) {
      if (generation === this.loadGeneration) this.publish({ status: 'error', error });
      return;
    }
    if (generation !== this.loadGeneration) return;
    const seen = new Set<string>();
    for (const alarm of fetched) {
      seen.add(alarm.id);
      const existing = this.byId.get(alarm.id);
      if (existing && existing.alarm.updatedAt >= alarm.updatedAt) continue;
      if (!isAlarmOpen(alarm)) this.byId.delete(alarm.id);
      else this.byId.set(alarm.id, { alarm, flash: existing?.flash ?? 0 });
    }
    // gone from the server's list (closed while we were not listening), unless it came live since
    for (const [id, entry] of this.byId) {
      if (!seen.has(id) && entry.flash < startedAt) this.byId.delete(id);
    }
    this.publish({ status: 'ready', error: null });
  }

  /**
   * One alarm as it is now, from the live feed or from the answer to an action. Older versions than
   * the one held (a late or repeated message) change nothing.
   */
  apply(alarm: Alarm, fromLive: boolean): void {
    const existing = this.byId.get(alarm.id);
    if (existing && existing.alarm.updatedAt >= alarm.updatedAt) return;
    if (!isAlarmOpen(alarm)) {
      if (!existing) return;
      this.byId.delete(alarm.id);
      this.publish({});
      return;
    }
    this.byId.set(alarm.id, { alarm, flash: fromLive ? Date.now() : (existing?.flash ?? 0) });
    if (this.byId.size > MAX_QUEUE) this.trim();
    this.publish({});
    const raisedAgain = !existing || alarm.occurrences > existing.alarm.occurrences;
    if (fromLive && raisedAgain && alarm.state === 'new' && this.inFocus(alarm)) alarmSound.alert(alarm.priority);
  }

  private inFocus(alarm: Alarm): boolean {
    return this.focusSite === ALL_SITES || alarm.site === this.focusSite;
  }

  private remind(): void {
    for (const { alarm } of this.byId.values()) {
      if (alarm.state === 'new' && alarm.priority === 1 && this.inFocus(alarm)) {
        alarmSound.alert(1);
        return;
      }
    }
  }

  private trim(): void {
    const ranked = [...this.byId.values()].sort((a, b) => compareAlarms(a.alarm, b.alarm));
    for (const entry of ranked.slice(MAX_QUEUE)) this.byId.delete(entry.alarm.id);
  }

  private publish(change: Partial<Omit<QueueSnapshot, 'entries'>>): void {
    const entries = [...this.byId.values()].sort((a, b) => compareAlarms(a.alarm, b.alarm));
    this.snapshot = { ...this.snapshot, ...change, entries };
    for (const l of this.listeners) l();
  }
}

export const alarmQueue = new AlarmQueue();

export function useAlarmQueue(): QueueSnapshot {
  return useSyncExternalStore(alarmQueue.subscribe, alarmQueue.getSnapshot);
}
