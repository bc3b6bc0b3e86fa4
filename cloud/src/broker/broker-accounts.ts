import { timingSafeEqual } from 'node:crypto';
import { parseTopic, TOPIC_ROOT, TOPIC_VERSION } from '@gatehouse/contracts';

/** MQTT accounts: one for the cloud service, one per gateway. */
export interface BrokerAccounts {
  cloud: { username: string; password: string };
  gateways: { site: string; gateway: string; username: string; password: string }[];
}

export type Principal = { kind: 'cloud' } | { kind: 'gateway'; site: string; gateway: string };

function samePassword(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who these credentials belong to, or undefined. */
export function authenticate(accounts: BrokerAccounts, username: string | undefined, password: string | undefined): Principal | undefined {
  if (username === undefined || password === undefined) return undefined;
  if (username === accounts.cloud.username) return samePassword(password, accounts.cloud.password) ? { kind: 'cloud' } : undefined;
  const gw = accounts.gateways.find((g) => g.username === username);
  if (gw && samePassword(password, gw.password)) return { kind: 'gateway', site: gw.site, gateway: gw.gateway };
  return undefined;
}

const GATEWAY_PUBLISHES = new Set(['telemetry', 'replay', 'events', 'state', 'cmd-result']);

/**
 * A gateway publishes only under its own site/gateway (telemetry, replay, events, state, command results); the
 * cloud publishes only commands. Returns the reason when refused.
 */
export function publishRefusal(principal: Principal, topic: string): string | undefined {
  let parsed;
  try {
    parsed = parseTopic(topic);
  } catch {
    return `topic ${topic} is outside the ${TOPIC_ROOT}/${TOPIC_VERSION} scheme`;
  }
  if (principal.kind === 'cloud') return parsed.kind === 'cmd' ? undefined : `the cloud account publishes commands only, not ${parsed.kind}`;
  if (parsed.site !== principal.site || parsed.gateway !== principal.gateway) return `gateway ${principal.site}/${principal.gateway} may not publish as ${parsed.site}/${parsed.gateway}`;
  return GATEWAY_PUBLISHES.has(parsed.kind) ? undefined : `a gateway may not publish ${parsed.kind}`;
}

/** A gateway subscribes only to its own commands; the cloud to anything in the scheme. */
export function subscribeRefusal(principal: Principal, filter: string): string | undefined {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  if (principal.kind === 'cloud') return plain.startsWith(`${TOPIC_ROOT}/${TOPIC_VERSION}/`) ? undefined : `the cloud account subscribes under ${TOPIC_ROOT}/${TOPIC_VERSION}/ only`;
  const own = `${TOPIC_ROOT}/${TOPIC_VERSION}/${principal.site}/${principal.gateway}/cmd/`;
  if (plain === `${own}#` || (plain.startsWith(own) && !plain.slice(own.length).includes('#') && !plain.slice(own.length).includes('+'))) return undefined;
  return `gateway ${principal.site}/${principal.gateway} may subscribe to ${own}# only`;
}
