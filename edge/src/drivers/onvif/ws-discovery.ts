import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { parseDeviceXml } from '../../xml/safe-xml.js';
import { list, path, text } from './soap-envelope.js';

export const WS_DISCOVERY_GROUP = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;

export interface DiscoveredCamera {
  /** the camera's stable endpoint reference, e.g. urn:uuid:… */
  endpoint: string;
  xaddrs: string[];
  scopes: string[];
  types: string[];
  /** where the ProbeMatch came from */
  from: string;
}

export interface DiscoverOptions {
  timeoutMs: number;
  /** a unicast target ("host" or "host:port") instead of the multicast group */
  address?: string;
  /** answers refused as malformed or hostile, e.g. to count them */
  onBadAnswer?: (reason: string) => void;
}

function probe(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
    `<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>${messageId}</a:MessageID>` +
    '<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>' +
    '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>'
  );
}

const words = (value: unknown) => (text(value) ?? '').split(/\s+/).filter(Boolean);

/**
 * Sends one WS-Discovery Probe for NetworkVideoTransmitter (to the multicast group, or to one address)
 * and collects the ProbeMatches that answer it within timeoutMs, one entry per camera.
 */
export async function discoverCameras(options: DiscoverOptions): Promise<DiscoveredCamera[]> {
  const [host, port] = options.address ? splitAddress(options.address) : [WS_DISCOVERY_GROUP, WS_DISCOVERY_PORT];
  const messageId = `urn:uuid:${randomUUID()}`;
  const found = new Map<string, DiscoveredCamera>();
  const socket = createSocket({ type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.on('error', () => undefined);
    socket.on('message', (message, remote) => {
      try {
        const document = parseDeviceXml(message.toString('utf8'), `WS-Discovery answer from ${remote.address}`);
        const relatesTo = text(path(document, 'Envelope', 'Header', 'RelatesTo'));
        if (relatesTo !== undefined && relatesTo !== messageId) return;
        for (const match of list(path(document, 'Envelope', 'Body', 'ProbeMatches', 'ProbeMatch'))) {
          const endpoint = text(path(match, 'EndpointReference', 'Address')) ?? `${remote.address}:${remote.port}`;
          const xaddrs = words(path(match, 'XAddrs')).filter((x) => URL.canParse(x));
          if (xaddrs.length === 0) continue;
          found.set(endpoint, { endpoint, xaddrs, scopes: words(path(match, 'Scopes')), types: words(path(match, 'Types')), from: remote.address });
        }
      } catch (err) {
        options.onBadAnswer?.((err as { reason?: string }).reason ?? 'malformed');
      }
    });
    await new Promise<void>((resolve, reject) => socket.send(probe(messageId), port, host, (err) => (err ? reject(err) : resolve())));
    await new Promise((resolve) => setTimeout(resolve, options.timeoutMs));
  } finally {
    socket.close();
  }
  return [...found.values()];
}

function splitAddress(address: string): [string, number] {
  const m = /^(.+?)(?::(\d+))?$/.exec(address);
  return [m?.[1] ?? address, m?.[2] ? Number(m[2]) : WS_DISCOVERY_PORT];
}
