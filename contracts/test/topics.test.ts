import { describe, expect, it } from 'vitest';
import { cloudFilters, parseTopic, sharedFilter, topics, TopicError } from '@gatehouse/contracts';

const gw = { site: 'sunrise-garden', gateway: 'gw-01' };

describe('topic scheme v1', () => {
  it('builds and parses every gateway topic', () => {
    expect(topics.telemetry(gw)).toBe('gh/v1/sunrise-garden/gw-01/telemetry');
    expect(parseTopic(topics.telemetry(gw))).toEqual({ kind: 'telemetry', ...gw });
    expect(parseTopic(topics.events(gw))).toEqual({ kind: 'events', ...gw });
    expect(parseTopic(topics.replay(gw))).toEqual({ kind: 'replay', ...gw });
    expect(parseTopic(topics.state(gw))).toEqual({ kind: 'state', ...gw });
    expect(parseTopic(topics.commandResult(gw))).toEqual({ kind: 'cmd-result', ...gw });
    expect(parseTopic(topics.command(gw, 'door-open'))).toEqual({ kind: 'cmd', command: 'door-open', ...gw });
  });

  it('gives filters for the cloud, shared subscriptions and the gateway ACL', () => {
    expect(cloudFilters.telemetry).toBe('gh/v1/+/+/telemetry');
    expect(sharedFilter('cloud', cloudFilters.events)).toBe('$share/cloud/gh/v1/+/+/events');
    expect(topics.gatewayPublishFilter(gw)).toBe('gh/v1/sunrise-garden/gw-01/#');
    expect(topics.gatewayCommandFilter(gw)).toBe('gh/v1/sunrise-garden/gw-01/cmd/#');
  });

  it.each([
    ['gh/v2/s/g/telemetry', 'start with "gh/v1/"'],
    ['gh/v1/Site/g/telemetry', 'site level is not a valid id'],
    ['gh/v1/s/+/telemetry', 'gateway level is not a valid id'],
    ['gh/v1/s/g/readings', 'expected it to end in telemetry'],
    ['gh/v1/s/g/telemetry/extra', 'expected it to end in telemetry'],
    ['gh/v1/s/g/cmd', 'expected cmd/{name}'],
    ['gh/v1/s/g/cmd/a/b', 'expected cmd/{name}'],
  ])('rejects %s, saying why', (topic, reason) => {
    expect(() => parseTopic(topic)).toThrow(TopicError);
    expect(() => parseTopic(topic)).toThrow(reason);
  });
});
