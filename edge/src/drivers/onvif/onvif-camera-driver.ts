import { randomUUID } from 'node:crypto';
import { BodyTooLargeError, readCappedBody } from '../../http/capped-body.js';
import type { DeviceDescriptor, EventType } from '@gatehouse/contracts';
import { BASIC_REFUSED_MESSAGE, DigestClient } from '../../http/digest-auth.js';
import type { CameraDriver, Snapshot } from '../camera/camera-driver.js';
import type { DriverContext } from '../driver.js';
import {
  analyticsState,
  decodeDeviceInformation,
  decodeMediaUri,
  decodeProfiles,
  decodePullMessages,
  decodeRenew,
  decodeSubscription,
  type AnalyticsKind,
  type OnvifDeviceInformation,
  type OnvifProfile,
} from './onvif-answers.js';
import type { OnvifCameraConfig } from './onvif-config.js';
import { abortableRequest, OnvifSoapClient, OnvifTransportError } from './onvif-soap-client.js';
import { OnvifFaultError, OnvifProtocolError } from './soap-envelope.js';
import { escapeXml } from './ws-security.js';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
/** Renewed this long before the camera would end the subscription. */
const RENEW_MARGIN_MS = 10_000;
/**
 * Largest snapshot taken: an event attachment carries at most 2,000,000 base64 characters
 * (contracts' attachmentSchema), 1,500,000 bytes, and a bigger picture would cost the event its picture
 * after it was read whole. A camera that streams without end is cut off here too.
 */
export const MAX_SNAPSHOT_BYTES = 1_400_000;

interface Subscription {
  address: string;
  /** our clock, epoch ms */
  terminatesAt: number;
}

/**
 * An ONVIF camera (Profile S): reads its clock, identity and profiles, keeps a pull-point subscription
 * open (renewed before it ends, recreated when the camera forgot it) and turns motion and tamper
 * notifications into events, on their rising edge. Snapshots come from the profile's snapshot URI
 * over HTTP Digest on a kept-alive connection with the challenge already answered, so one on the
 * alarm path costs a request, not a handshake.
 */
export class OnvifCameraDriver implements CameraDriver {
  readonly role = 'camera' as const;
  readonly descriptor: DeviceDescriptor;
  deviceInformation: OnvifDeviceInformation | undefined;
  profiles: OnvifProfile[] = [];
  /** what went wrong last, for status pages and tests */
  lastError: string | undefined;

  private readonly soap: OnvifSoapClient;
  private readonly http: DigestClient;
  private readonly aborter = new AbortController();
  private services: { media: string; events: string } | undefined;
  private profileToken: string | undefined;
  private snapshotUri: string | undefined;
  private subscription: Subscription | undefined;
  private readonly states = new Map<string, boolean>();
  private stopped = false;
  private running: Promise<void> | undefined;
  private supervisor: NodeJS.Timeout | undefined;
  private lastAnswerAt = Date.now();
  private online: boolean | undefined;
  private lastEventTs = 0;
  private retryDelay = RETRY_MIN_MS;

  constructor(
    private readonly config: OnvifCameraConfig,
    private readonly ctx: DriverContext,
  ) {
    this.descriptor = { id: config.id, kind: 'camera', driver: config.driver, ...(config.name ? { name: config.name } : {}) };
    this.soap = new OnvifSoapClient(config.url, { username: config.username, password: config.password, timeoutMs: config.requestTimeoutMs });
    this.http = new DigestClient({ username: config.username, password: config.password, timeoutMs: config.snapshotTimeoutMs });
  }

  start(): void {
    if (this.stopped) throw new Error(`camera ${this.config.id}: the driver is stopped and cannot be started again`);
    if (this.running) return;
    this.supervisor = setInterval(() => this.checkOffline(), Math.min(1000, this.config.offlineAfterMs / 2));
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.supervisor);
    this.aborter.abort();
    await this.running;
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) {
      // Cameras keep subscriptions nobody ends until they run out, and they have few of them.
      await this.soap
        .request({ url: subscription.address, operation: 'Unsubscribe', body: '<wsnt:Unsubscribe/>', header: addressedTo(subscription.address), timeoutMs: 2000 })
        .catch((err: Error) => this.ctx.logger.debug({ device: this.config.id, err: err.message }, 'ONVIF unsubscribe failed'));
    }
  }

  async snapshot(timeoutMs: number): Promise<Snapshot> {
    if (this.stopped) throw this.stoppedError('snapshot');
    const ts = Date.now();
    // Its own timeout, and aborted by stop(): the alarm path must not wait on a driver that is gone.
    const request = abortableRequest(timeoutMs, this.aborter.signal);
    const signal = request.signal;
    try {
      const uri = this.snapshotUri ?? (await this.fetchSnapshotUri(signal));
      const response = await this.http.fetch(uri, { signal });
      if (!response.ok) {
        // An answer left unread would hold its connection until the camera gives up on it.
        void response.body?.cancel().catch(() => undefined);
        if (response.status === 401 && this.http.basicRefused(response)) throw new Error(`snapshot from camera ${this.config.id}: ${BASIC_REFUSED_MESSAGE}`);
        if (response.status === 401) throw new Error(`snapshot from camera ${this.config.id} refused: wrong user name or password (HTTP 401)`);
        throw new Error(`snapshot from camera ${this.config.id}: HTTP ${response.status}`);
      }
      const data = await this.readSnapshot(response, request.abort);
      if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) {
        this.protocolError('not_jpeg', `the snapshot from ${uri} is not a JPEG (${data.length} bytes)`);
        throw new OnvifProtocolError('not_jpeg', `snapshot from camera ${this.config.id} is not a JPEG`);
      }
      return { contentType: 'image/jpeg', ts, data };
    } catch (err) {
      // The address may have changed (a reboot, a new profile): ask again next time.
      this.snapshotUri = undefined;
      if (this.stopped && signal.aborted) throw this.stoppedError('snapshot');
      if (request.timedOut) throw new Error(`snapshot from camera ${this.config.id}: no image within ${timeoutMs} ms`);
      throw err;
    } finally {
      request.release();
    }
  }

  /** Reads the image, never more than MAX_SNAPSHOT_BYTES of it: beyond, the connection is cut. */
  private async readSnapshot(response: Response, abort: (reason?: unknown) => void): Promise<Buffer> {
    const tooLarge = (what: string) => {
      abort(new Error('snapshot too large'));
      this.ctx.metrics.protocolErrors.inc({ protocol: 'onvif', reason: 'too_large' });
      return new OnvifProtocolError('too_large', `snapshot from camera ${this.config.id} of ${what} bytes exceeds the limit of ${MAX_SNAPSHOT_BYTES} bytes`);
    };
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > MAX_SNAPSHOT_BYTES) throw tooLarge(String(declared));
    try {
      return await readCappedBody(response.body, MAX_SNAPSHOT_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw tooLarge(`at least ${err.bytesSeen}`);
      throw err;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.services) await this.connect();
        if (!this.config.events.motion && !this.config.events.tamper) {
          await this.sleep(this.config.offlineAfterMs / 2);
          await this.soap.learnClockOffset(this.aborter.signal);
          this.answered();
          continue;
        }
        if (!this.subscription) await this.subscribe();
        else if (this.subscription.terminatesAt - Date.now() < RENEW_MARGIN_MS + this.config.pullTimeoutS * 1000) await this.renew();
        await this.pull();
        this.retryDelay = RETRY_MIN_MS;
      } catch (err) {
        if (this.stopped) return;
        this.failure(err);
        await this.sleep(this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
      }
    }
  }

  private async connect(): Promise<void> {
    const signal = this.aborter.signal;
    await this.soap.learnClockOffset(signal);
    this.answered();
    this.deviceInformation = decodeDeviceInformation(await this.soap.request({ url: this.config.url, operation: 'GetDeviceInformation', body: '<tds:GetDeviceInformation/>', signal }));
    const capabilities = await this.soap.request({ url: this.config.url, operation: 'GetCapabilities', body: '<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>', signal });
    const xaddr = (service: string) => {
      const value = (capabilities.Capabilities as Record<string, { XAddr?: unknown }> | undefined)?.[service]?.XAddr;
      return typeof value === 'string' && URL.canParse(value) ? this.reachable(value) : undefined;
    };
    const media = xaddr('Media');
    if (!media) throw new OnvifProtocolError('unexpected', `camera ${this.config.id} has no media service (GetCapabilities)`);
    const events = xaddr('Events') ?? this.config.url;
    this.profiles = decodeProfiles(await this.soap.request({ url: media, operation: 'GetProfiles', body: '<trt:GetProfiles/>', signal }));
    const wanted = this.config.profile ?? this.profiles[0]?.token;
    if (!wanted || !this.profiles.some((p) => p.token === wanted)) throw new OnvifProtocolError('unexpected', `camera ${this.config.id} has no profile ${wanted ?? ''} (profiles: ${this.profiles.map((p) => p.token).join(', ') || 'none'})`);
    this.profileToken = wanted;
    this.services = { media, events };
    this.ctx.logger.info({ device: this.config.id, ...this.deviceInformation, profile: wanted, clockOffsetMs: this.soap.clockOffsetMs }, 'ONVIF camera connected');
    try {
      await this.fetchSnapshotUri(signal);
    } catch (err) {
      // A snapshot address refused costs the pictures, not the events: snapshot() asks again and says why.
      if (!(err instanceof OnvifProtocolError) || this.stopped) throw err;
      this.protocolError(err.reason, err.message);
      return;
    }
    // One snapshot now answers the Digest challenge and opens the connection the alarm path will use.
    void this.snapshot(this.config.snapshotTimeoutMs).catch((err: Error) => {
      if (!this.stopped) this.ctx.logger.warn({ device: this.config.id, err: err.message }, 'ONVIF snapshot warm-up failed');
    });
  }

  private async fetchSnapshotUri(signal: AbortSignal): Promise<string> {
    if (!this.services || !this.profileToken) throw new Error(`camera ${this.config.id} is not connected yet`);
    const answer = await this.soap.request({ url: this.services.media, operation: 'GetSnapshotUri', body: `<trt:GetSnapshotUri><trt:ProfileToken>${escapeXml(this.profileToken)}</trt:ProfileToken></trt:GetSnapshotUri>`, signal });
    this.snapshotUri = this.reachable(decodeMediaUri(answer, 'snapshot'), 'snapshot');
    return this.snapshotUri;
  }

  private async subscribe(): Promise<void> {
    const answer = await this.soap.request({
      url: this.services!.events,
      operation: 'CreatePullPointSubscription',
      body: `<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT${this.config.subscriptionTtlS}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`,
      signal: this.aborter.signal,
    });
    const created = decodeSubscription(answer);
    this.answered();
    this.subscription = { address: this.reachable(created.address), terminatesAt: Date.now() + (created.terminationTime - created.currentTime) };
    this.ctx.logger.debug({ device: this.config.id, address: this.subscription.address }, 'ONVIF pull-point subscription created');
  }

  private async renew(): Promise<void> {
    const subscription = this.subscription!;
    const answer = await this.soap.request({
      url: subscription.address,
      operation: 'Renew',
      body: `<wsnt:Renew><wsnt:TerminationTime>PT${this.config.subscriptionTtlS}S</wsnt:TerminationTime></wsnt:Renew>`,
      header: addressedTo(subscription.address),
      signal: this.aborter.signal,
    });
    const renewed = decodeRenew(answer);
    this.answered();
    const cameraNow = renewed.currentTime ?? Date.now() + this.soap.clockOffsetMs;
    subscription.terminatesAt = Date.now() + (renewed.terminationTime - cameraNow);
  }

  private async pull(): Promise<void> {
    const subscription = this.subscription!;
    const answer = await this.soap.request({
      url: subscription.address,
      operation: 'PullMessages',
      body: `<tev:PullMessages><tev:Timeout>PT${this.config.pullTimeoutS}S</tev:Timeout><tev:MessageLimit>32</tev:MessageLimit></tev:PullMessages>`,
      header: addressedTo(subscription.address),
      // The camera may hold the request for the whole Timeout before it answers.
      timeoutMs: this.config.pullTimeoutS * 1000 + this.config.requestTimeoutMs,
      signal: this.aborter.signal,
    });
    const pulled = decodePullMessages(answer);
    this.answered();
    if (pulled.terminationTime !== undefined && pulled.currentTime !== undefined) subscription.terminatesAt = Date.now() + (pulled.terminationTime - pulled.currentTime);
    for (const notification of pulled.notifications) {
      const state = analyticsState(notification);
      if (!state || !this.config.events[state.kind]) continue;
      this.transition(state.kind, state.source, state.active);
    }
  }

  private transition(kind: AnalyticsKind, source: string, active: boolean): void {
    const key = `${kind}:${source}`;
    const before = this.states.get(key) ?? false;
    this.states.set(key, active);
    if (active && !before) this.emit(kind, `${kind === 'motion' ? 'motion detected' : 'tamper (scene change)'} on ${source}`);
  }

  /**
   * An address the camera gave, made usable: a camera that names itself by a loopback address (or
   * 0.0.0.0) is reached where we reached it, with the port and path it gave. User name and password in
   * the address are dropped: the configured ones are used, and addresses end up in logs.
   * A snapshot address must be on the camera's own host: whatever host it names is answered with the
   * camera's credentials when it asks for them.
   */
  private reachable(address: string, what?: 'snapshot'): string {
    const configured = new URL(this.config.url);
    const url = new URL(address);
    if (what === 'snapshot' && url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OnvifProtocolError('unexpected', `camera ${this.config.id} gives a snapshot URI that is not HTTP (${url.protocol})`);
    }
    url.username = '';
    url.password = '';
    if (isLoopbackOrAny(url.hostname)) {
      url.hostname = configured.hostname;
    } else if (what === 'snapshot' && url.hostname !== configured.hostname) {
      throw new OnvifProtocolError(
        'foreign_host',
        `camera ${this.config.id} gives a snapshot URI on host ${url.hostname}, not on the camera's host ${configured.hostname}: refused, that host would receive the camera's credentials`,
      );
    }
    return url.toString();
  }

  private stoppedError(what: string): Error {
    return new Error(`${what} from camera ${this.config.id}: the driver is stopped`);
  }

  private failure(err: unknown): void {
    this.lastError = (err as Error).message;
    if (err instanceof OnvifFaultError) {
      if (err.notAuthorized) {
        this.ctx.logger.error({ device: this.config.id, err: err.message }, 'ONVIF camera refuses the credentials: check the user name and password');
      } else {
        this.ctx.logger.warn({ device: this.config.id, err: err.message }, 'ONVIF request refused by the camera');
      }
      this.ctx.metrics.protocolErrors.inc({ protocol: 'onvif', reason: err.notAuthorized ? 'not_authorized' : 'fault' });
      // A fault on the subscription: it expired or the camera restarted. Start over with a new one.
      if (err.operation === 'PullMessages' || err.operation === 'Renew') this.subscription = undefined;
      return;
    }
    if (err instanceof OnvifProtocolError) {
      this.protocolError(err.reason, err.message);
      this.subscription = undefined;
      this.services = undefined;
      return;
    }
    this.ctx.logger.debug({ device: this.config.id, err: (err as Error).message }, 'ONVIF request failed');
    if (!(err instanceof OnvifTransportError)) this.ctx.logger.warn({ device: this.config.id, err: (err as Error).message }, 'ONVIF camera driver error');
    this.checkOffline();
  }

  private emit(type: EventType, reason?: string): void {
    this.ctx.metrics.deviceEvents.inc({ type });
    this.lastEventTs = Math.max(Date.now(), this.lastEventTs + 1);
    this.ctx.sink.event({ id: randomUUID(), device: this.config.id, type, ts: this.lastEventTs, point: 'camera', ...(reason ? { reason } : {}) });
  }

  private answered(): void {
    this.lastAnswerAt = Date.now();
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 1);
    if (this.online === false) {
      this.emit('device_online', 'the camera answers again');
      this.ctx.logger.info({ device: this.config.id }, 'ONVIF camera back online');
    }
    this.online = true;
  }

  private checkOffline(): void {
    if (this.stopped || this.online === false || Date.now() - this.lastAnswerAt < this.config.offlineAfterMs) return;
    this.online = false;
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 0);
    this.emit('device_offline', `no answer for ${Math.round(this.config.offlineAfterMs / 1000)} s`);
    this.ctx.logger.warn({ device: this.config.id }, 'ONVIF camera offline');
  }

  private protocolError(reason: string, detail: string): void {
    this.ctx.metrics.protocolErrors.inc({ protocol: 'onvif', reason });
    this.ctx.logger.warn({ device: this.config.id, reason, detail }, 'ONVIF answer refused');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.aborter.signal.aborted) return resolve();
      const signal = this.aborter.signal;
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** 0.0.0.0, localhost and the loopback addresses: what a camera calls itself when it knows no better. */
function isLoopbackOrAny(hostname: string): boolean {
  return hostname === '0.0.0.0' || hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** WS-Addressing To: cameras that share one address for all subscriptions tell them apart by it. */
function addressedTo(address: string): string {
  return `<wsa:To>${escapeXml(address)}</wsa:To>`;
}
