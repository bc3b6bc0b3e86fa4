import { randomUUID } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { escapeXml } from './soap.js';
import { find, readXml, textAt } from './xml-reader.js';

export const WS_DISCOVERY_PORT = 3702;
export const WS_DISCOVERY_GROUP = '239.255.255.250';

export interface DiscoveryIdentity {
  /** urn:uuid:… that stays the same for the life of the camera */
  endpoint: string;
  xaddrs: () => string;
  scopes: () => string;
  answering: () => boolean;
}

export interface DiscoveryLog {
  warn(message: string): void;
}

/**
 * The camera's WS-Discovery responder: answers Probe messages for NetworkVideoTransmitter or Device,
 * sent to the multicast group or straight to its UDP port, with a ProbeMatch to the sender. A machine
 * without a multicast route still gets a working unicast responder.
 */
export class WsDiscoveryResponder {
  private socket: Socket | undefined;

  constructor(
    private readonly identity: DiscoveryIdentity,
    private readonly log: DiscoveryLog,
  ) {}

  async start(port = WS_DISCOVERY_PORT, host = '0.0.0.0'): Promise<number> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (message, remote) => this.answer(message, remote));
    socket.on('error', (err) => this.log.warn(`WS-Discovery socket error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.addMembership(WS_DISCOVERY_GROUP);
    } catch (err) {
      this.log.warn(`WS-Discovery: cannot join ${WS_DISCOVERY_GROUP} (${(err as Error).message}); answering unicast probes only`);
    }
    return socket.address().port;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private answer(message: Buffer, remote: RemoteInfo): void {
    if (!this.identity.answering()) return;
    let messageId: string | undefined;
    try {
      const envelope = readXml(message.toString('utf8'));
      const probe = find(find(envelope, 'Body'), 'Probe');
      if (!probe) return;
      if (!wantsCamera(textAt(probe, 'Types') ?? '')) return;
      messageId = textAt(envelope, 'Header', 'MessageID');
    } catch {
      return; // not a probe we can read: a real camera stays silent too
    }
    const reply = probeMatches(this.identity, messageId);
    this.socket?.send(reply, remote.port, remote.address, (err) => {
      if (err) this.log.warn(`WS-Discovery: cannot answer ${remote.address}:${remote.port}: ${err.message}`);
    });
  }
}

/** An empty Types matches every device; otherwise one of the types must be a camera's. */
function wantsCamera(types: string): boolean {
  const wanted = types.split(/\s+/).filter(Boolean).map((t) => t.slice(t.indexOf(':') + 1));
  return wanted.length === 0 || wanted.some((t) => t === 'NetworkVideoTransmitter' || t === 'Device');
}

function probeMatches(identity: DiscoveryIdentity, relatesTo: string | undefined): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
    '<SOAP-ENV:Header>' +
    `<wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID>` +
    (relatesTo ? `<wsa:RelatesTo>${escapeXml(relatesTo)}</wsa:RelatesTo>` : '') +
    '<wsa:To SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>' +
    '<wsa:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>' +
    '</SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>' +
    `<wsa:EndpointReference><wsa:Address>${escapeXml(identity.endpoint)}</wsa:Address></wsa:EndpointReference>` +
    '<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>' +
    `<d:Scopes>${escapeXml(identity.scopes())}</d:Scopes>` +
    `<d:XAddrs>${escapeXml(identity.xaddrs())}</d:XAddrs>` +
    '<d:MetadataVersion>1</d:MetadataVersion>' +
    '</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>'
  );
}
