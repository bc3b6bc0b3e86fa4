import { describe, expect, it } from 'vitest';
import {
  alarmRaisedBy,
  alarmsConfigSchema,
  conditionEndEffect,
  conditionsEndedBy,
  escalationLevelsFor,
  occurrenceEffect,
  priorityOf,
  retryDelayMs,
  transitionRefusal,
} from '../../src/alarms/index.js';

const at = { gateway: 'gw-01', device: 'panel-1' };

describe('alarm rules', () => {
  it('parses an empty configuration to the documented defaults', () => {
    const config = alarmsConfigSchema.parse({});
    expect(config.priorities).toEqual({
      duress: 1,
      door_forced_open: 1,
      tamper: 2,
      door_held_open: 2,
      gateway_offline: 2,
      device_offline: 3,
      backlog_stale: 3,
      meter_comm_error: 3,
      device_fault: 4,
      energy_anomaly: 4,
    });
    expect(config).toMatchObject({ sitePriorities: {}, gatewaySilenceSeconds: 180, commErrorMinutes: 10, backlogMinutes: 15, energyAnomalyConfidence: 0.8, checkEveryMs: 5000, escalation: [] });
    expect(config.smtp).toBeUndefined();
  });

  it('refuses unknown fields, short webhook secrets and e-mail without a mail server, naming the path', () => {
    const unknown = alarmsConfigSchema.safeParse({ priorities: { door_forced: 1 } });
    expect(unknown.success).toBe(false);
    const short = alarmsConfigSchema.safeParse({ escalation: [{ priority: 1, unacknowledgedAfterSeconds: 60, webhooks: [{ url: 'https://x.example/h', secret: 'short' }] }] });
    expect(short.error?.issues[0]).toMatchObject({ path: ['escalation', 0, 'webhooks', 0, 'secret'] });
    const noSmtp = alarmsConfigSchema.safeParse({ escalation: [{ priority: 1, unacknowledgedAfterSeconds: 60, email: ['guard@example.com'] }] });
    expect(noSmtp.error?.issues[0]).toMatchObject({ path: ['escalation', 0, 'email'], message: 'e-mail escalation needs an smtp section' });
    const ok = alarmsConfigSchema.parse({ escalation: [{ priority: 1, unacknowledgedAfterSeconds: 60, email: ['guard@example.com'] }], smtp: { host: 'mail', from: 'alarms@example.com' } });
    expect(ok.smtp).toEqual({ host: 'mail', port: 587, secure: false, from: 'alarms@example.com' });
  });

  it('says which events raise which alarm, keyed by door or by device', () => {
    expect(alarmRaisedBy({ ...at, type: 'door_forced_open', point: '2' })).toEqual({ type: 'door_forced_open', sourceKey: 'door_forced_open:gw-01:panel-1:2' });
    expect(alarmRaisedBy({ ...at, type: 'door_held_open' })).toEqual({ type: 'door_held_open', sourceKey: 'door_held_open:gw-01:panel-1:' });
    expect(alarmRaisedBy({ ...at, type: 'tamper' })?.type).toBe('tamper');
    expect(alarmRaisedBy({ ...at, type: 'duress', point: '1' })?.sourceKey).toBe('duress:gw-01:panel-1:1');
    expect(alarmRaisedBy({ ...at, type: 'device_fault' })?.type).toBe('device_fault');
    // a device offline is the device's, whatever door it names
    expect(alarmRaisedBy({ ...at, type: 'device_offline', point: '1' })?.sourceKey).toBe('device_offline:panel-1');
    for (const type of ['access_granted', 'access_denied', 'door_opened', 'door_closed', 'exit_button', 'motion', 'device_online'] as const) {
      expect(alarmRaisedBy({ ...at, type })).toBeUndefined();
    }
  });

  it('ends a door\'s forced and held alarms when it closes, and a device\'s offline alarm when it is back', () => {
    expect(conditionsEndedBy({ ...at, type: 'door_closed', point: '2' })).toEqual(['door_forced_open:gw-01:panel-1:2', 'door_held_open:gw-01:panel-1:2']);
    expect(conditionsEndedBy({ ...at, type: 'device_online' })).toEqual(['device_offline:panel-1']);
    expect(conditionsEndedBy({ ...at, type: 'door_opened' })).toEqual([]);
    expect(conditionsEndedBy({ ...at, type: 'duress' })).toEqual([]);
  });

  it('takes a site\'s priority over the configured one', () => {
    const config = alarmsConfigSchema.parse({ priorities: { tamper: 3 }, sitePriorities: { vault: { tamper: 1 } } });
    expect(priorityOf(config, 'vault', 'tamper')).toBe(1);
    expect(priorityOf(config, 'vault', 'duress')).toBe(1);
    expect(priorityOf(config, 'lobby', 'tamper')).toBe(3);
  });

  it('counts a late occurrence without reopening or restarting a condition that ended after it', () => {
    const cleared = { state: 'cleared' as const, lastAt: 100, conditionEndedAt: 200 };
    expect(occurrenceEffect(cleared, 300)).toEqual({ reopen: true, conditionOn: true, newest: true });
    expect(occurrenceEffect(cleared, 150)).toEqual({ reopen: false, conditionOn: false, newest: true });
    expect(occurrenceEffect({ state: 'new', lastAt: 100, conditionEndedAt: null }, 50)).toEqual({ reopen: false, conditionOn: true, newest: false });
  });

  it('clears an acknowledged alarm when its condition ends, and only records it otherwise', () => {
    expect(conditionEndEffect({ state: 'acknowledged', lastAt: 100, conditionEndedAt: null }, 150)).toBe('clear');
    expect(conditionEndEffect({ state: 'new', lastAt: 100, conditionEndedAt: null }, 150)).toBe('record');
    expect(conditionEndEffect({ state: 'new', lastAt: 100, conditionEndedAt: 120 }, 150)).toBe('none');
    // a door closing before the latest forced opening does not end it
    expect(conditionEndEffect({ state: 'acknowledged', lastAt: 100, conditionEndedAt: null }, 90)).toBe('none');
  });

  it('allows acknowledge from new, clear from acknowledged, close from acknowledged or cleared', () => {
    expect(transitionRefusal('acknowledge', 'new')).toBeUndefined();
    expect(transitionRefusal('acknowledge', 'cleared')).toBe('only new alarms can be acknowledged');
    expect(transitionRefusal('clear', 'new')).toBe('acknowledge it before clearing it');
    expect(transitionRefusal('clear', 'acknowledged')).toBeUndefined();
    expect(transitionRefusal('close', 'new')).toBe('only acknowledged or cleared alarms can be closed');
    expect(transitionRefusal('close', 'cleared')).toBeUndefined();
    expect(transitionRefusal('close', 'closed')).toMatch(/closed/);
  });

  it('applies escalation levels of this priority or a less urgent one, in order of delay', () => {
    const levels = [
      { priority: 1, unacknowledgedAfterSeconds: 300, name: 'manager' },
      { priority: 3, unacknowledgedAfterSeconds: 60, name: 'supervisor' },
      { priority: 2, unacknowledgedAfterSeconds: 120, name: 'duty' },
    ];
    expect(escalationLevelsFor(levels, 1).map((l) => l.name)).toEqual(['supervisor', 'duty', 'manager']);
    expect(escalationLevelsFor(levels, 2).map((l) => l.name)).toEqual(['supervisor', 'duty']);
    expect(escalationLevelsFor(levels, 4)).toEqual([]);
  });

  it('backs off 5 s, 10 s, 20 s … up to 10 minutes', () => {
    expect([1, 2, 3, 4, 7, 8, 9, 10].map(retryDelayMs)).toEqual([5000, 10_000, 20_000, 40_000, 320_000, 600_000, 600_000, 600_000]);
  });
});
