import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { createDigestGuard, type DigestGuard } from '../http/digest-server.js';
import * as answers from './camera-responses.js';
import { PROFILES, TOPICS, VIDEO_SOURCE, type CameraIdentity } from './camera-responses.js';
import { PullPoints, parseDuration, parseTermination, type CameraNotification, type PullPoint } from './pull-points.js';
import { SnapshotRenderer, type FrameSize } from './snapshot-image.js';
import { envelope, FAULTS, faultEnvelope, type SoapFault } from './soap.js';
import { UsernameTokenVerifier } from './username-token.js';
import { WS_DISCOVERY_PORT, WsDiscoveryResponder } from './ws-discovery-responder.js';
import { find, readXml, textAt, XmlReadError, type XmlElement } from './xml-reader.js';

export interface SimulatedCameraOptions {
  name: string;
  model?: string;
  manufacturer?: string;
  serial?: string;
  firmware?: string;
  location?: string;
  username: string;
  password: string;
  /** the camera's clock is off by this much (ms), as a camera whose clock was never set is */
  clockOffsetMs?: number;
  /** how far a WS-Security Created may be from the camera's clock (default 5 min) */
  authWindowMs?: number;
  /**
   * refuse a WS-Security nonce used before (default true). Off, as on cameras that keep no nonce
   * cache, which some clients need: libonvif seeds its nonces from the clock's second, so its requests
   * within one millisecond carry the very same token.
   */
  rejectReplayedNonces?: boolean;
  /** WS-Discovery responder: false to disable it; port 0 picks a free one (default 3702) */
  discovery?: false | { port?: number };
  snapshotSize?: FrameSize;
  /** the host the camera names in its addresses, when clients must reach it under another name */
  advertisedHost?: string;
  logger?: Logger;
}

/**
 * How the snapshot is served: as it should be; never (the request is held open, as by a camera whose
 * encoder hung); or as a JPEG padded with zeros to `bytes`, announced by Content-Length or streamed
 * chunked without one.
 */
export type SnapshotMode = { kind: 'normal' } | { kind: 'hang' } | { kind: 'oversized'; bytes: number; declared: boolean };

export interface RunningCamera {
  port: number;
  /** the WS-Discovery UDP port, when the responder runs */
  discoveryPort: number | undefined;
  close(): Promise<void>;
}

const SOAP_PATHS = /^\/onvif\/(device_service|media_service|event_service|events|media|device)(\/subscription\/([A-Za-z0-9-]+))?\/?$/;
const SNAPSHOT_PATH = '/onvif/snapshot';
const MAX_REQUEST_BYTES = 256 * 1024;
const DEFAULT_SUBSCRIPTION_MS = 60_000;
const MAX_PULL_TIMEOUT_MS = 60_000;

type Answer = string | SoapFault;

/**
 * An ONVIF Profile S camera over real sockets: device, media and event services in SOAP 1.2 with
 * WS-Security UsernameToken digests checked against its own (possibly wrong) clock, pull-point events
 * for motion and tamper, a Digest-protected JPEG snapshot with its name and clock burnt in, and a
 * WS-Discovery responder.
 */
export class SimulatedCamera {
  /** snapshots served (authenticated) */
  snapshotCount = 0;
  /** requests refused for their WS-Security header */
  authFailures = 0;
  /** SOAP operations answered, by name */
  readonly operations = new Map<string, number>();
  /** authenticated snapshot requests whose connection was closed before the answer was complete */
  snapshotsCut = 0;

  private readonly identity: CameraIdentity;
  private readonly tokens: UsernameTokenVerifier;
  private readonly digest: DigestGuard;
  private readonly pullPoints: PullPoints;
  private readonly renderer: SnapshotRenderer;
  private readonly endpoint = `urn:uuid:${randomUUID()}`;
  private readonly logger: Logger;
  private clockOffsetMs: number;
  private offline = false;
  private motionActive = false;
  private snapshotMode: SnapshotMode = { kind: 'normal' };
  private snapshotUriOverride: string | undefined;
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private discovery: WsDiscoveryResponder | undefined;
  private listening: { host: string; port: number } | undefined;

  constructor(private readonly options: SimulatedCameraOptions) {
    this.identity = {
      name: options.name,
      manufacturer: options.manufacturer ?? 'Gatehouse',
      model: options.model ?? 'GH-IPC-2100',
      serial: options.serial ?? `GH${randomUUID().slice(0, 8).toUpperCase()}`,
      firmware: options.firmware ?? 'V5.7.3 build 240101',
      location: options.location ?? 'site',
    };
    this.clockOffsetMs = options.clockOffsetMs ?? 0;
    this.logger = options.logger ?? pino({ level: 'warn' });
    const now = () => this.cameraNow();
    this.tokens = new UsernameTokenVerifier(new Map([[options.username, options.password]]), now, options.authWindowMs ?? 5 * 60_000, options.rejectReplayedNonces ?? true);
    this.digest = createDigestGuard({ realm: 'IP Camera', users: { [options.username]: options.password } });
    this.pullPoints = new PullPoints(now);
    this.renderer = new SnapshotRenderer(options.snapshotSize);
  }

  /** the camera's clock, epoch ms */
  cameraNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Resets the camera's clock, e.g. to see a client re-learn the offset. */
  setClockOffset(ms: number): void {
    this.clockOffsetMs = ms;
  }

  get subscriptionCount(): number {
    return this.pullPoints.size;
  }

  get motion(): boolean {
    return this.motionActive;
  }

  triggerMotion(active: boolean): void {
    this.motionActive = active;
    this.pullPoints.publish(this.notification(TOPICS.motion, 'Changed', active));
  }

  /** A tamper pulse, as real cameras report a global scene change: State true, then false. */
  triggerTamper(): void {
    this.pullPoints.publish(this.notification(TOPICS.sceneChange, 'Changed', true));
    this.pullPoints.publish(this.notification(TOPICS.sceneChange, 'Changed', false));
  }

  /** Offline: every connection is cut and new ones are dropped; discovery goes silent. */
  setOffline(offline: boolean): void {
    this.offline = offline;
    if (offline) this.dropConnections();
  }

  /** A reboot: subscriptions are forgotten and open connections cut. */
  restart(): void {
    this.pullPoints.clear();
    this.dropConnections();
  }

  setSnapshotMode(mode: SnapshotMode): void {
    this.snapshotMode = mode;
  }

  /** GetSnapshotUri answers with this address instead of the camera's own (undefined: its own again). */
  setSnapshotUri(uri: string | undefined): void {
    this.snapshotUriOverride = uri;
  }

  /** Every subscription ends now, as if its termination time had passed. */
  expireSubscriptions(): void {
    this.pullPoints.clear();
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<RunningCamera> {
    const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.logger.error({ camera: this.identity.name, err: err.message }, 'ONVIF request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on('connection', (socket) => {
      if (this.offline) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    this.listening = { host, port: boundPort };

    let discoveryPort: number | undefined;
    if (this.options.discovery !== false) {
      this.discovery = new WsDiscoveryResponder(
        {
          endpoint: this.endpoint,
          xaddrs: () => `${this.baseUrl()}/onvif/device_service`,
          scopes: () => answers.scopeItems(this.identity).join(' '),
          answering: () => !this.offline,
        },
        { warn: (message) => this.logger.warn({ camera: this.identity.name }, message) },
      );
      discoveryPort = await this.discovery.start(this.options.discovery?.port ?? WS_DISCOVERY_PORT);
    }

    return {
      port: boundPort,
      discoveryPort,
      close: async () => {
        await this.discovery?.stop();
        this.pullPoints.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        this.dropConnections();
        await closed;
      },
    };
  }

  private dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private baseUrl(hostHeader?: string): string {
    if (this.options.advertisedHost) return `http://${this.options.advertisedHost}:${this.listening?.port}`;
    // The address the client used, so the camera's addresses work through whatever name reached it.
    if (hostHeader && /^[A-Za-z0-9.\-[\]:]{1,255}$/.test(hostHeader)) return `http://${hostHeader}`;
    const host = this.listening?.host === '0.0.0.0' ? '127.0.0.1' : this.listening?.host;
    return `http://${host}:${this.listening?.port}`;
  }

  private notification(topic: string, operation: CameraNotification['operation'], state: boolean): CameraNotification {
    return { topic, utcTime: this.cameraNow(), operation, source: { name: 'Source', value: VIDEO_SOURCE }, data: { name: 'State', value: String(state) } };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.offline) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://camera');
    if (url.pathname === SNAPSHOT_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      this.serveSnapshot(req, res);
      return;
    }
    const path = SOAP_PATHS.exec(url.pathname);
    if (!path || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      this.reply(res, FAULTS.wellFormed(`request larger than ${MAX_REQUEST_BYTES} bytes`));
      return;
    }
    let request: XmlElement;
    try {
      request = readXml(body);
    } catch (err) {
      this.reply(res, FAULTS.wellFormed(err instanceof XmlReadError ? err.message : 'unreadable request'));
      return;
    }
    const operation = request.local === 'Envelope' ? find(request, 'Body')?.children[0] : undefined;
    if (!operation) {
      this.reply(res, FAULTS.wellFormed('no SOAP 1.2 Envelope with an operation in its Body'));
      return;
    }
    // The standard lets a client read the clock before it can authenticate: it needs it to.
    if (operation.local !== 'GetSystemDateAndTime') {
      const auth = this.tokens.check(request);
      if (!auth.ok) {
        this.authFailures++;
        this.logger.info({ camera: this.identity.name, operation: operation.local, why: auth.why }, 'ONVIF request not authorized');
        this.reply(res, FAULTS.notAuthorized(auth.why));
        return;
      }
    }
    this.operations.set(operation.local, (this.operations.get(operation.local) ?? 0) + 1);
    const answer = await this.answer(operation, this.baseUrl(req.headers.host), path[3], res);
    this.reply(res, answer);
  }

  private async answer(operation: XmlElement, base: string, subscriptionId: string | undefined, res: ServerResponse): Promise<Answer> {
    const now = this.cameraNow();
    switch (operation.local) {
      case 'GetSystemDateAndTime':
        return answers.systemDateAndTime(now);
      case 'GetDeviceInformation':
        return answers.deviceInformation(this.identity);
      case 'GetCapabilities':
        return answers.capabilities(base);
      case 'GetServices':
        return answers.services(base, textAt(operation, 'IncludeCapability') === 'true');
      case 'GetScopes':
        return answers.scopes(this.identity);
      case 'GetHostname':
        return answers.hostname(this.identity);
      case 'GetNetworkInterfaces':
        return answers.networkInterfaces(this.listening?.host ?? '127.0.0.1');
      case 'GetProfiles':
        return answers.profiles();
      case 'GetProfile': {
        const profile = this.profile(textAt(operation, 'ProfileToken'));
        return profile ? answers.profile(profile) : FAULTS.invalidArg('NoProfile', 'no such profile');
      }
      case 'GetVideoSources':
        return answers.videoSources();
      case 'GetStreamUri': {
        const profile = this.profile(textAt(operation, 'ProfileToken'));
        if (!profile) return FAULTS.invalidArg('NoProfile', 'no such profile');
        return answers.mediaUri('GetStreamUri', `rtsp://${new URL(base).hostname}:554/Streaming/Channels/${profile.channel}`);
      }
      case 'GetSnapshotUri': {
        const profile = this.profile(textAt(operation, 'ProfileToken'));
        if (!profile) return FAULTS.invalidArg('NoProfile', 'no such profile');
        return answers.mediaUri('GetSnapshotUri', this.snapshotUriOverride ?? `${base}${SNAPSHOT_PATH}?profile=${profile.token}`);
      }
      case 'GetEventProperties':
        return answers.eventProperties();
      case 'CreatePullPointSubscription': {
        const terminationAt = parseTermination(textAt(operation, 'InitialTerminationTime'), now, DEFAULT_SUBSCRIPTION_MS);
        if (terminationAt === undefined || terminationAt <= now) return FAULTS.invalidArg('InvalidTerminationTime', 'InitialTerminationTime is not a duration or a future time');
        const point = this.pullPoints.create(terminationAt - now, [
          this.notification(TOPICS.motion, 'Initialized', this.motionActive),
          this.notification(TOPICS.sceneChange, 'Initialized', false),
        ]);
        return answers.subscriptionCreated(`${base}/onvif/event_service/subscription/${point.id}`, now, point.terminationAt);
      }
      case 'PullMessages':
      case 'Renew':
      case 'Unsubscribe':
        return this.subscriptionOperation(operation, subscriptionId, res);
      default:
        return FAULTS.actionNotSupported(operation.local);
    }
  }

  private async subscriptionOperation(operation: XmlElement, id: string | undefined, res: ServerResponse): Promise<Answer> {
    const point: PullPoint | undefined = id ? this.pullPoints.get(id) : undefined;
    if (!point) return FAULTS.noSubscription(`subscription ${id ?? '(none)'} does not exist or has expired`);
    const now = this.cameraNow();
    if (operation.local === 'Unsubscribe') {
      this.pullPoints.remove(point.id);
      return answers.unsubscribed();
    }
    if (operation.local === 'Renew') {
      const terminationAt = parseTermination(textAt(operation, 'TerminationTime'), now, DEFAULT_SUBSCRIPTION_MS);
      if (terminationAt === undefined || terminationAt <= now) return FAULTS.invalidArg('InvalidTerminationTime', 'TerminationTime is not a duration or a future time');
      point.terminationAt = terminationAt;
      return answers.renewed(now, terminationAt);
    }
    const timeoutMs = Math.min(parseDuration(textAt(operation, 'Timeout') ?? '') ?? 10_000, MAX_PULL_TIMEOUT_MS);
    const limit = Math.max(1, Math.min(Number.parseInt(textAt(operation, 'MessageLimit') ?? '10', 10) || 10, 100));
    // A pull answers early once something happened; the subscription lives on while a pull waits.
    point.terminationAt = Math.max(point.terminationAt, now + timeoutMs);
    const messages = await this.pullPoints.pull(point, timeoutMs, limit, () => res.destroyed || this.pullPoints.get(point.id) === undefined);
    return answers.pulledMessages(this.cameraNow(), point.terminationAt, messages);
  }

  private profile(token: string | undefined) {
    return token === undefined ? PROFILES[0] : PROFILES.find((p) => p.token === token);
  }

  private reply(res: ServerResponse, answer: Answer): void {
    if (res.destroyed) return;
    const fault = typeof answer === 'string' ? undefined : answer;
    const text = fault ? faultEnvelope(fault) : envelope(answer as string);
    // Spelt as real cameras spell them: some clients (libonvif's) look for "Content-Length: " verbatim.
    res.writeHead(fault ? fault.status : 200, { 'Content-Type': 'application/soap+xml; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private serveSnapshot(req: IncomingMessage, res: ServerResponse): void {
    const auth = this.digest.check(req);
    if (!auth.ok) {
      res.writeHead(401, { 'www-authenticate': auth.header, 'content-type': 'text/plain', 'content-length': 13 }).end('Unauthorized\n');
      return;
    }
    res.on('close', () => {
      if (!res.writableFinished) this.snapshotsCut++;
    });
    const mode = this.snapshotMode;
    if (mode.kind === 'hang') return;
    const clock = new Date(this.cameraNow()).toISOString().slice(0, 19).replace('T', ' ');
    const image = this.renderer.render(this.identity.name, clock);
    this.snapshotCount++;
    if (mode.kind === 'oversized' && req.method === 'GET') {
      streamPadded(res, image, mode.bytes, mode.declared);
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : image);
  }
}

/** The image followed by zeros up to `bytes`, written as fast as the client reads it. */
function streamPadded(res: ServerResponse, image: Buffer, bytes: number, declared: boolean): void {
  res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store', ...(declared ? { 'content-length': bytes } : {}) });
  const padding = Buffer.alloc(64 * 1024);
  let sent = 0;
  const write = (): void => {
    while (sent < bytes && !res.destroyed) {
      const piece = sent === 0 ? image.subarray(0, bytes) : padding.subarray(0, Math.min(padding.length, bytes - sent));
      sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', write);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  write();
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
