import { ID_PATTERN } from './ids.js';

/**
 * MQTT topic scheme, version 1:
 *
 *   gh/v1/{site}/{gateway}/telemetry      gateway → cloud   readings (QoS 1)
 *   gh/v1/{site}/{gateway}/replay         gateway → cloud   readings replayed from the journal after an outage (QoS 1)
 *   gh/v1/{site}/{gateway}/events         gateway → cloud   security and device events (QoS 1)
 *   gh/v1/{site}/{gateway}/state          gateway → cloud   birth / death, retained, last will (QoS 1)
 *   gh/v1/{site}/{gateway}/cmd/{name}     cloud → gateway   commands (QoS 1)
 *   gh/v1/{site}/{gateway}/cmd-result     gateway → cloud   command outcomes (QoS 1)
 *
 * The version is a topic level so that a v2 can run beside v1 on one broker during a migration.
 * Replayed readings travel on their own topic so that the cloud can take them on a connection of their
 * own: a large replay then never queues in front of live readings at the broker.
 */
export const TOPIC_ROOT = 'gh';
export const TOPIC_VERSION = 'v1';

export interface GatewayAddress {
  site: string;
  gateway: string;
}

export type TopicKind = 'telemetry' | 'replay' | 'events' | 'state' | 'cmd' | 'cmd-result';

export type ParsedTopic =
  | { kind: 'telemetry' | 'replay' | 'events' | 'state' | 'cmd-result'; site: string; gateway: string }
  | { kind: 'cmd'; site: string; gateway: string; command: string };

function gatewayPrefix({ site, gateway }: GatewayAddress): string {
  return `${TOPIC_ROOT}/${TOPIC_VERSION}/${site}/${gateway}`;
}

export const topics = {
  telemetry: (address: GatewayAddress) => `${gatewayPrefix(address)}/telemetry`,
  replay: (address: GatewayAddress) => `${gatewayPrefix(address)}/replay`,
  events: (address: GatewayAddress) => `${gatewayPrefix(address)}/events`,
  state: (address: GatewayAddress) => `${gatewayPrefix(address)}/state`,
  command: (address: GatewayAddress, name: string) => `${gatewayPrefix(address)}/cmd/${name}`,
  commandResult: (address: GatewayAddress) => `${gatewayPrefix(address)}/cmd-result`,
  /** Everything one gateway may publish to; used by broker ACLs. */
  gatewayPublishFilter: (address: GatewayAddress) => `${gatewayPrefix(address)}/#`,
  /** What a gateway subscribes to: its own commands only. */
  gatewayCommandFilter: (address: GatewayAddress) => `${gatewayPrefix(address)}/cmd/#`,
} as const;

/** Replayed readings: the cloud takes them on a connection of their own. */
export const cloudReplayFilter = `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/replay`;

/** Filters the cloud subscribes with for live traffic (all sites, all gateways). */
export const cloudFilters = {
  telemetry: `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/telemetry`,
  events: `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/events`,
  state: `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/state`,
  commandResult: `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/cmd-result`,
} as const;

/** Wraps a filter for an MQTT 5 shared subscription so several cloud instances split the stream. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}

export class TopicError extends Error {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super(`topic "${topic}": ${reason}`);
    this.name = 'TopicError';
  }
}

const SIMPLE_KINDS = new Set(['telemetry', 'replay', 'events', 'state', 'cmd-result']);

/** Parses a v1 topic; throws TopicError naming what is wrong. */
export function parseTopic(topic: string): ParsedTopic {
  const levels = topic.split('/');
  const [root, version, site, gateway, kind, command, ...rest] = levels;
  if (root !== TOPIC_ROOT || version !== TOPIC_VERSION) {
    throw new TopicError(topic, `expected it to start with "${TOPIC_ROOT}/${TOPIC_VERSION}/"`);
  }
  if (site === undefined || !ID_PATTERN.test(site)) throw new TopicError(topic, 'site level is not a valid id');
  if (gateway === undefined || !ID_PATTERN.test(gateway)) {
    throw new TopicError(topic, 'gateway level is not a valid id');
  }
  if (kind === 'cmd') {
    if (command === undefined || !ID_PATTERN.test(command) || rest.length > 0) {
      throw new TopicError(topic, 'expected cmd/{name} with a valid command name');
    }
    return { kind: 'cmd', site, gateway, command };
  }
  if (kind === undefined || !SIMPLE_KINDS.has(kind) || command !== undefined) {
    throw new TopicError(topic, 'expected it to end in telemetry, replay, events, state, cmd/{name} or cmd-result');
  }
  return { kind: kind as 'telemetry' | 'replay' | 'events' | 'state' | 'cmd-result', site, gateway };
}
