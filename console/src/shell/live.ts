import { useSyncExternalStore } from 'react';
import { API_BASE } from './api-client';
import type { Alarm, DeviceEvent } from './api-types';

/**
 * Live push from /api/v1/live (Server-Sent Events). EventSource reconnects by itself after a dropped
 * connection and sends Last-Event-ID, so the server resumes with no gap. When the browser gives up
 * (an HTTP error, e.g. after a server restart behind a proxy) we open a new EventSource after a
 * backoff, resuming after the last message received (?lastEventId=, as a header cannot be set);
 * subscribers are told to reload what they show all the same (`resync`), as they are when the
 * stream first opens: what was loaded before it may have missed a change.
 */

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'down';

export interface LiveHandlers {
  alarm?: (alarm: Alarm) => void;
  event?: (event: DeviceEvent) => void;
  /** the stream restarted without its position: reload the state shown */
  resync?: () => void;
}

const MAX_BACKOFF_MS = 30_000;

export class LiveFeed {
  private source: EventSource | null = null;
  private readonly subscribers = new Set<LiveHandlers>();
  private readonly statusListeners = new Set<() => void>();
  private currentStatus: LiveStatus = 'down';
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private backoffMs = 1000;
  private started = false;
  /**
   * A fresh EventSource starts from "now": whatever was loaded before it opened may have missed
   * messages, so its opening asks subscribers to reload (the very first opening too).
   */
  private needsResync = true;
  private everOpened = false;
  /** id of the last message received: a new EventSource resumes after it (?lastEventId=) */
  private lastEventId: string | null = null;

  constructor(private readonly url: string = `${API_BASE}/live`) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.open();
  }

  stop(): void {
    this.started = false;
    this.needsResync = true;
    this.everOpened = false;
    this.lastEventId = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.source?.close();
    this.source = null;
    this.setStatus('down');
  }

  subscribe(handlers: LiveHandlers): () => void {
    this.subscribers.add(handlers);
    return () => this.subscribers.delete(handlers);
  }

  get status(): LiveStatus {
    return this.currentStatus;
  }

  onStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private open(): void {
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
    const source = new EventSource(this.lastEventId ? `${this.url}?lastEventId=${encodeURIComponent(this.lastEventId)}` : this.url);
    this.source = source;
    source.onopen = () => {
      this.backoffMs = 1000;
      this.everOpened = true;
      this.setStatus('open');
      if (this.needsResync) {
        this.needsResync = false;
        for (const s of this.subscribers) s.resync?.();
      }
    };
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CONNECTING) {
        // the browser retries by itself, resuming from Last-Event-ID
        this.setStatus('reconnecting');
        return;
      }
      source.close();
      this.source = null;
      this.setStatus('down');
      this.needsResync = true;
      if (!this.started) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.started) this.open();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    };
    source.addEventListener('alarm', (e) => this.dispatch('alarm', e as MessageEvent<string>));
    source.addEventListener('event', (e) => this.dispatch('event', e as MessageEvent<string>));
  }

  private dispatch(kind: 'alarm' | 'event', message: MessageEvent<string>): void {
    if (message.lastEventId) this.lastEventId = message.lastEventId;
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    for (const s of this.subscribers) {
      try {
        if (kind === 'alarm') s.alarm?.(data as Alarm);
        else s.event?.(data as DeviceEvent);
      } catch (err) {
        // one page's bug must not stop the others from hearing the feed
        console.error(err);
      }
    }
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const l of this.statusListeners) l();
  }
}

export const live = new LiveFeed();

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (cb) => live.onStatus(cb),
    () => live.status,
  );
}
