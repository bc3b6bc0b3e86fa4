import { attr, list, OnvifProtocolError, path, text, type XmlNode } from './soap-envelope.js';

export interface OnvifDeviceInformation {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
}

export interface OnvifProfile {
  token: string;
  name: string;
  encoding?: string;
  width?: number;
  height?: number;
}

export interface OnvifSubscription {
  address: string;
  /** camera clock, epoch ms */
  terminationTime: number;
  currentTime: number;
}

export interface OnvifNotification {
  topic: string;
  operation: string;
  source: Record<string, string>;
  data: Record<string, string>;
}

const required = (value: string | undefined, what: string): string => {
  if (value === undefined || value === '') throw new OnvifProtocolError('unexpected', `ONVIF answer: ${what} is missing`);
  return value;
};

export function decodeDeviceInformation(answer: XmlNode): OnvifDeviceInformation {
  return {
    manufacturer: text(answer.Manufacturer) ?? '',
    model: text(answer.Model) ?? '',
    firmware: text(answer.FirmwareVersion) ?? '',
    serial: text(answer.SerialNumber) ?? '',
  };
}

export function decodeProfiles(answer: XmlNode): OnvifProfile[] {
  return list(answer.Profiles).map((p, i) => {
    const width = Number(text(path(p, 'VideoEncoderConfiguration', 'Resolution', 'Width')));
    const height = Number(text(path(p, 'VideoEncoderConfiguration', 'Resolution', 'Height')));
    const encoding = text(path(p, 'VideoEncoderConfiguration', 'Encoding'));
    return {
      token: required(attr(p, 'token'), `the token of profile ${i + 1}`),
      name: text(path(p, 'Name')) ?? '',
      ...(encoding ? { encoding } : {}),
      ...(Number.isFinite(width) && width > 0 ? { width } : {}),
      ...(Number.isFinite(height) && height > 0 ? { height } : {}),
    };
  });
}

export function decodeMediaUri(answer: XmlNode, what: string): string {
  const uri = required(text(path(answer, 'MediaUri', 'Uri')), `the ${what} URI`);
  if (!URL.canParse(uri)) throw new OnvifProtocolError('unexpected', `ONVIF answer: the ${what} URI is not a URL: ${uri.slice(0, 200)}`);
  return uri;
}

function time(value: unknown, what: string): number {
  const ms = Date.parse(required(text(value), what));
  if (!Number.isFinite(ms)) throw new OnvifProtocolError('unexpected', `ONVIF answer: ${what} is not a time`);
  return ms;
}

export function decodeSubscription(answer: XmlNode): OnvifSubscription {
  const address = required(text(path(answer, 'SubscriptionReference', 'Address')), 'the subscription address');
  if (!/^https?:\/\//.test(address) || !URL.canParse(address)) throw new OnvifProtocolError('unexpected', `ONVIF answer: the subscription address is not an HTTP URL: ${address.slice(0, 200)}`);
  return { address, terminationTime: time(answer.TerminationTime, 'TerminationTime'), currentTime: time(answer.CurrentTime, 'CurrentTime') };
}

export function decodeRenew(answer: XmlNode): { terminationTime: number; currentTime?: number } {
  const current = text(answer.CurrentTime);
  return { terminationTime: time(answer.TerminationTime, 'TerminationTime'), ...(current && Number.isFinite(Date.parse(current)) ? { currentTime: Date.parse(current) } : {}) };
}

function simpleItems(value: unknown): Record<string, string> {
  const items: Record<string, string> = {};
  for (const item of list(path(value, 'SimpleItem'))) {
    const name = attr(item, 'Name');
    const v = attr(item, 'Value');
    if (name !== undefined && v !== undefined) items[name] = v;
  }
  return items;
}

export function decodePullMessages(answer: XmlNode): { notifications: OnvifNotification[]; terminationTime?: number; currentTime?: number } {
  const notifications = list(answer.NotificationMessage).map((n) => {
    const message = path(n, 'Message', 'Message');
    return {
      topic: required(text(path(n, 'Topic')), 'the topic of a notification').trim(),
      operation: attr(message, 'PropertyOperation') ?? '',
      source: simpleItems(path(message, 'Source')),
      data: simpleItems(path(message, 'Data')),
    };
  });
  const termination = Date.parse(text(answer.TerminationTime) ?? '');
  const current = Date.parse(text(answer.CurrentTime) ?? '');
  return {
    notifications,
    ...(Number.isFinite(termination) ? { terminationTime: termination } : {}),
    ...(Number.isFinite(current) ? { currentTime: current } : {}),
  };
}

export type AnalyticsKind = 'motion' | 'tamper';

/**
 * What a notification says about motion or tamper, across the topics cameras use: the state, or
 * undefined for topics that are neither.
 */
export function analyticsState(n: OnvifNotification): { kind: AnalyticsKind; active: boolean; source: string } | undefined {
  const topic = n.topic.replace(/\b[\w-]+:/g, '');
  const source = Object.values(n.source).join('/') || 'camera';
  const flag = (...names: string[]) => {
    for (const name of names) {
      const v = n.data[name];
      if (v !== undefined) return v.trim().toLowerCase() === 'true' || v.trim() === '1';
    }
    return undefined;
  };
  if (/^VideoSource\/MotionAlarm$/.test(topic) || /^RuleEngine\/CellMotionDetector\/Motion$/.test(topic) || /^RuleEngine\/MotionRegionDetector\/Motion$/.test(topic)) {
    const active = flag('State', 'IsMotion');
    return active === undefined ? undefined : { kind: 'motion', active, source };
  }
  if (/^VideoSource\/GlobalSceneChange\//.test(topic) || /^RuleEngine\/TamperDetector\/Tamper$/.test(topic)) {
    const active = flag('State', 'IsTamper');
    return active === undefined ? undefined : { kind: 'tamper', active, source };
  }
  return undefined;
}
