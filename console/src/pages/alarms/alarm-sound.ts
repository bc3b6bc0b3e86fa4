import { useSyncExternalStore } from 'react';
import type { Priority } from '../../shell/api-types';

/**
 * The alarm tone, synthesised with WebAudio (no audio file): more urgent for higher priorities.
 * Browsers only let a page make sound after the user has interacted with it; the login click or any
 * key press counts, so the context is resumed on the first one.
 */

const MUTE_KEY = 'gh.alarmSoundMuted';

interface Tone {
  frequency: number;
  beeps: number;
  beepMs: number;
  gapMs: number;
  wave: OscillatorType;
  volume: number;
}

const TONES: Record<Priority, Tone> = {
  1: { frequency: 1046, beeps: 3, beepMs: 140, gapMs: 90, wave: 'square', volume: 0.22 },
  2: { frequency: 880, beeps: 2, beepMs: 150, gapMs: 110, wave: 'square', volume: 0.18 },
  3: { frequency: 660, beeps: 1, beepMs: 200, gapMs: 0, wave: 'triangle', volume: 0.22 },
  4: { frequency: 520, beeps: 1, beepMs: 160, gapMs: 0, wave: 'sine', volume: 0.2 },
};

class AlarmSound {
  private context: AudioContext | null = null;
  private mutedNow: boolean;
  private readonly listeners = new Set<() => void>();
  /** several alarms in one burst ring once, not a cacophony */
  private lastPlayedAt = 0;

  constructor() {
    let stored: string | null = null;
    try {
      stored = localStorage.getItem(MUTE_KEY);
    } catch {
      // storage blocked
    }
    this.mutedNow = stored === '1';
    const unlock = () => this.unlock();
    window.addEventListener('pointerdown', unlock, { capture: true });
    window.addEventListener('keydown', unlock, { capture: true });
  }

  get muted(): boolean {
    return this.mutedNow;
  }

  setMuted(muted: boolean): void {
    this.mutedNow = muted;
    try {
      localStorage.setItem(MUTE_KEY, muted ? '1' : '0');
    } catch {
      // not persisted
    }
    for (const l of this.listeners) l();
    if (!muted) this.play(4);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private unlock(): void {
    const ctx = this.ensureContext();
    if (ctx && ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
  }

  private ensureContext(): AudioContext | null {
    if (this.context) return this.context;
    const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctor) return null;
    try {
      this.context = new Ctor();
    } catch {
      return null;
    }
    return this.context;
  }

  /** Rings for an alarm of that priority, unless muted or something rang a moment ago. */
  alert(priority: Priority): void {
    if (this.mutedNow) return;
    const now = performance.now();
    if (now - this.lastPlayedAt < 700) return;
    this.lastPlayedAt = now;
    this.play(priority);
  }

  private play(priority: Priority): void {
    const ctx = this.ensureContext();
    if (!ctx) return;
    if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
    const tone = TONES[priority];
    let at = ctx.currentTime + 0.02;
    for (let i = 0; i < tone.beeps; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = tone.wave;
      osc.frequency.value = tone.frequency;
      const end = at + tone.beepMs / 1000;
      // short ramps: a hard start or stop of a wave clicks
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(tone.volume, at + 0.012);
      gain.gain.setValueAtTime(tone.volume, end - 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, end);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(end + 0.01);
      at = end + tone.gapMs / 1000;
    }
  }
}

export const alarmSound = new AlarmSound();

export function useAlarmSoundMuted(): boolean {
  return useSyncExternalStore(
    (cb) => alarmSound.subscribe(cb),
    () => alarmSound.muted,
  );
}
