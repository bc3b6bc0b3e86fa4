import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DoorLogic } from '@gatehouse/edge';

describe('door logic', () => {
  let events: string[];
  let unlocks: number[];
  let door: DoorLogic;

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 26, 8) });
    events = [];
    unlocks = [];
    door = new DoorLogic(
      { unlockMs: 5000, heldOpenMs: 30_000, allowedCards: new Set(['12345640']), duressPin: '9999' },
      { unlock: (ms) => unlocks.push(ms), event: (type, detail) => events.push(detail?.credential ? `${type} ${detail.credential}` : type) },
      () => Date.now(),
    );
  });
  afterEach(() => {
    door.stop();
    vi.useRealTimers();
  });

  it('grants an enrolled card, unlocks, and counts the opening as legitimate', () => {
    door.cardPresented('12345640', '****5640');
    door.doorContact(true);
    door.doorContact(false);
    expect(events).toEqual(['access_granted ****5640', 'door_opened', 'door_closed']);
    expect(unlocks).toEqual([5000]);
  });

  it('denies an unknown card and keeps the door locked', () => {
    door.cardPresented('DEADBEEF', '****BEEF');
    expect(events).toEqual(['access_denied ****BEEF']);
    expect(unlocks).toEqual([]);
  });

  it('reports a door forced open when it opens locked, and after the unlock window ran out', () => {
    door.doorContact(true);
    door.doorContact(false);
    door.cardPresented('12345640', '****5640');
    vi.advanceTimersByTime(6000);
    door.doorContact(true);
    expect(events).toEqual(['door_forced_open', 'door_closed', 'access_granted ****5640', 'door_forced_open']);
  });

  it('reports a door held open once, after the allowed time', () => {
    door.exitButtonPressed();
    door.doorContact(true);
    vi.advanceTimersByTime(29_000);
    expect(events).toEqual(['exit_button', 'door_opened']);
    vi.advanceTimersByTime(60_000);
    expect(events).toEqual(['exit_button', 'door_opened', 'door_held_open']);
    door.doorContact(false);
    expect(events.at(-1)).toBe('door_closed');
  });

  it('opens for the duress PIN as for anyone, and raises the duress alarm', () => {
    door.keypadEntered('9999#');
    expect(events).toEqual(['access_granted', 'duress']);
    expect(unlocks).toEqual([5000]);
    door.keypadEntered('1111#');
    expect(events.at(-1)).toBe('access_denied');
  });

  it('builds a PIN from keys reported one at a time, until Enter; * clears, a long pause forgets', () => {
    for (const key of ['9', '9', '9', '9']) door.keypadEntered(key);
    // No Enter yet: nothing decided.
    expect(events).toEqual([]);
    door.keypadEntered('#');
    expect(events).toEqual(['access_granted', 'duress']);
    // A slip corrected with *, then the duress PIN: duress again.
    for (const key of ['1', '2', '*', '9', '9', '9', '9', '#']) door.keypadEntered(key);
    expect(events.slice(2)).toEqual(['access_granted', 'duress']);
    // Half a PIN, then 11 s without a key: forgotten, so "99" + "99#" is the PIN "99", refused.
    door.keypadEntered('99');
    vi.advanceTimersByTime(11_000);
    door.keypadEntered('99#');
    expect(events.slice(4)).toEqual(['access_denied']);
    // Enter alone decides nothing.
    door.keypadEntered('#');
    expect(events).toHaveLength(5);
  });

  it('reports tamper', () => {
    door.tamper(true);
    door.tamper(false);
    expect(events).toEqual(['tamper']);
  });
});
