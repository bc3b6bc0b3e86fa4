import { createHash, randomUUID } from 'node:crypto';
import type { DeviceDescriptor, EventType } from '@gatehouse/contracts';
import { BASIC_REFUSED_MESSAGE, DigestAuthError, DigestClient, type DigestTextResponse } from '../../http/digest-auth.js';
import { boundaryFromContentType, MultipartReader, type MultipartItem } from '../../http/multipart-reader.js';
import { parseDeviceXml, XmlError } from '../../xml/safe-xml.js';
import type { AccessControlDriver, DoorCommand, DoorCommandOutcome } from '../access/access-driver.js';
import type { DriverContext } from '../driver.js';
import { decodeAcsEventPage, decodeAlertPart, IsapiDecodeError, type AcsRecord } from './acs-event-decoding.js';
import { normaliseAcsRecord, type NormalisedAcsEvent } from './acs-event-mapping.js';
import type { IsapiDeviceConfig } from './isapi-config.js';

const PATHS = {
  deviceInfo: '/ISAPI/System/deviceInfo',
  alertStream: '/ISAPI/Event/notification/alertStream',
  acsEvent: '/ISAPI/AccessControl/AcsEvent?format=json',
  workStatus: '/ISAPI/AccessControl/AcsWorkStatus?format=json',
  door: (n: number) => `/ISAPI/AccessControl/RemoteControl/door/${n}`,
};
/** Panels cap a search page at 30 records; asking for more is pointless. */
const SEARCH_PAGE = 30;
/** Stream records kept while a catch-up runs; past this they are dropped and fetched by the next search. */
const MAX_HELD = 10_000;
/** A search window wide enough for any panel clock; panels require startTime and endTime. */
const SEARCH_FROM = '2000-01-01T00:00:00+00:00';
const SEARCH_TO = '2099-12-31T23:59:59+00:00';

/** Records remembered to recognise repeats (the stream and a log search overlap by a few at most). */
const RECENT_RECORDS = 1024;
/**
 * Further log searches for a serial number that held stream records skip over, before it is given up
 * as missing from the panel's log (overwritten when the log wrapped) and the held records delivered.
 */
const GAP_SEARCHES = 3;
/** The contract's limit on a command result's detail is 512 characters; stay well below it. */
const DETAIL_MAX = 400;
/** Each field of a panel's ResponseStatus quoted in a detail, at most. */
const STATUS_FIELD_MAX = 80;

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

class CredentialsRefused extends Error {}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause. */
function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause && !e.message.includes(cause) ? `${e.message} (${cause})` : e.message;
}

/**
 * What a record is, to tell a repeat from a different record under the same serial number. The time is
 * compared as an instant: the stream and the log search may spell it differently.
 */
function recordFingerprint(r: AcsRecord): string {
  const at = r.time === undefined ? NaN : Date.parse(r.time);
  return `${r.major}:${r.minor}:${Number.isFinite(at) ? Math.floor(at / 1000) : (r.time ?? '')}:${r.doorNo ?? ''}`;
}

/** The URL for logs: never with a user name or password in it. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

interface PersistedState {
  lastSerialNo: number;
  lastEventTs: number;
  /** how many times the panel's log was found restarted (serial numbers from 1 again) */
  logGeneration: number;
  /** the fingerprint of the record at lastSerialNo, to recognise a panel whose log restarted and grew past it */
  lastFingerprint?: string;
  /** the panel was last reported offline: the first answer after a restart reports it online again */
  reportedOffline?: boolean;
}

/**
 * A Hikvision access-control panel over ISAPI. Events come live on the alert stream (multipart,
 * reopened when it ends or stalls); after every (re)connection, and whenever the serial numbers on
 * the stream jump, the panel's event log is searched from the last serial number delivered, so every
 * event reaches the sink once and in the panel's order, whatever happened to the stream. The last
 * serial number delivered survives gateway restarts (persistentState). On its first connection ever
 * the driver starts from the panel's newest record, not its whole history.
 */
export class IsapiPanelDriver implements AccessControlDriver {
  readonly role = 'access' as const;
  readonly descriptor: DeviceDescriptor;
  private readonly http: DigestClient;
  private readonly base: string;
  /** the base URL as logged */
  private readonly where: string;
  private stopped = false;
  private running: Promise<void> | undefined;
  private streamAbort: AbortController | undefined;
  /** aborted by stop(), so no request outlives the driver */
  private readonly lifetime = new AbortController();
  private wake: (() => void) | undefined;
  private superviseTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private online: boolean | undefined;
  private lastAnswerAt = Date.now();
  /** a liveness request in flight, asked when the alert stream has been quiet for a while */
  private probing = false;
  private lastSerialNo: number | undefined;
  /** the fingerprint of the record at lastSerialNo, when known */
  private lastFingerprint: string | undefined;
  /**
   * true while the position came from a log with nothing in it (a first contact, a restarted log):
   * the first record seen then is where the log starts, not after a gap (its serial numbers may begin
   * anywhere, e.g. at 500 on a panel whose log was cleared).
   */
  private startsAtFirstRecord = false;
  private logGeneration = 0;
  private lastEventTs = 0;
  private identified = false;
  private failureReported = false;
  /** stream records waiting for a catch-up to finish, by serial number */
  private readonly held = new Map<number, AcsRecord>();
  /** what the last records delivered were, to tell a repeat from a restarted log */
  private readonly recent = new Map<number, string>();
  private catchUpRun: Promise<void> | undefined;
  private catchUpAgain = false;
  /** a catch-up failed: hold stream records until the next one succeeds */
  private catchUpOwed = false;

  constructor(
    private readonly config: IsapiDeviceConfig,
    private readonly ctx: DriverContext,
  ) {
    this.descriptor = { id: config.id, kind: 'access_panel', driver: config.driver, ...(config.name ? { name: config.name } : {}) };
    this.http = new DigestClient({ username: config.username, password: config.password, timeoutMs: config.requestTimeoutMs });
    this.base = config.url.replace(/\/$/, '');
    this.where = redactUrl(this.base);
    this.reconnectDelay = config.reconnectMinMs;
  }

  doors(): string[] {
    return Array.from({ length: this.config.doors }, (_, i) => String(i + 1));
  }

  start(): void {
    if (this.running) return;
    this.superviseTimer = setInterval(() => this.checkOffline(), Math.max(50, Math.min(1000, Math.floor(this.config.offlineAfterMs / 4))));
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.superviseTimer);
    this.lifetime.abort();
    this.wake?.();
    await this.running;
    await this.catchUpRun;
  }

  persistentState(): PersistedState | undefined {
    if (this.lastSerialNo === undefined) return undefined;
    return {
      lastSerialNo: this.lastSerialNo,
      lastEventTs: this.lastEventTs,
      logGeneration: this.logGeneration,
      ...(this.lastFingerprint !== undefined ? { lastFingerprint: this.lastFingerprint } : {}),
      ...(this.online === false ? { reportedOffline: true } : {}),
    };
  }

  restoreState(state: unknown): void {
    const s = state as Partial<PersistedState> | null | undefined;
    if (s && Number.isSafeInteger(s.lastSerialNo) && s.lastSerialNo! >= 0) this.lastSerialNo = s.lastSerialNo!;
    if (s && Number.isSafeInteger(s.lastEventTs) && s.lastEventTs! >= 0) this.lastEventTs = s.lastEventTs!;
    if (s && Number.isSafeInteger(s.logGeneration) && s.logGeneration! >= 0) this.logGeneration = s.logGeneration!;
    if (s && typeof s.lastFingerprint === 'string' && s.lastFingerprint.length <= 256) this.lastFingerprint = s.lastFingerprint;
    // Reported offline before the restart: the cloud shows it so until told otherwise.
    if (s?.reportedOffline === true) this.online = false;
  }

  // ---- the connection ----

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.session();
      } catch (err) {
        if (err instanceof CredentialsRefused) this.credentialsRefused();
        else if (err instanceof DigestAuthError) this.ctx.logger.error({ device: this.config.id, url: this.where, err: err.message }, `ISAPI panel ${this.config.id} at ${this.where}: cannot log in: ${err.message}`);
        else if (!this.stopped) {
          // Once per outage at warn level; the retries after it at debug, so a long outage does not flood the log.
          this.ctx.logger[this.failureReported ? 'debug' : 'warn']({ device: this.config.id, url: this.where, err: describeError(err) }, 'ISAPI panel unreachable: retrying');
          this.failureReported = true;
        }
      }
      if (this.stopped) break;
      await this.sleep(this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.config.reconnectMaxMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One connection's life: identify, baseline, open the stream, catch up, read until the stream ends. */
  private async session(): Promise<void> {
    if (!this.identified) await this.identify();
    await this.checkLogPosition();
    const abort = new AbortController();
    this.streamAbort = abort;
    // Linked by a listener removed when the session ends, not AbortSignal.any, which can keep combined
    // signals alive for as long as the driver's lifetime signal lives (nodejs/node#55351).
    const onStop = () => abort.abort();
    if (this.lifetime.signal.aborted) abort.abort();
    this.lifetime.signal.addEventListener('abort', onStop, { once: true });
    try {
      await this.openStream(abort);
    } finally {
      this.lifetime.signal.removeEventListener('abort', onStop);
    }
  }

  private async openStream(abort: AbortController): Promise<void> {
    const res = await this.http.fetch(this.base + PATHS.alertStream, { signal: abort.signal });
    if (res.status === 401) {
      const basicRefused = this.http.basicRefused(res);
      await res.body?.cancel().catch(() => undefined);
      if (basicRefused) throw new DigestAuthError(BASIC_REFUSED_MESSAGE);
      throw new CredentialsRefused();
    }
    const boundary = boundaryFromContentType(res.headers.get('content-type'));
    if (res.status !== 200 || !boundary || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      this.protocolError('bad_stream', `alert stream answered HTTP ${res.status} with Content-Type "${res.headers.get('content-type') ?? ''}", expected 200 multipart/mixed with a boundary`);
      return;
    }
    this.answered();
    this.reconnectDelay = this.config.reconnectMinMs;
    this.ctx.logger.info({ device: this.config.id }, 'ISAPI alert stream open');
    this.startCatchUp();
    await this.readStream(res.body, new MultipartReader(boundary), abort);
  }

  private async readStream(body: ReadableStream<Uint8Array>, parts: MultipartReader, abort: AbortController): Promise<void> {
    const reader = body.getReader();
    let stallTimer: NodeJS.Timeout | undefined;
    const armStallTimer = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        this.ctx.logger.warn({ device: this.config.id, silentMs: this.config.stallTimeoutMs }, 'ISAPI alert stream stalled (no data, not even heartbeats): reconnecting');
        abort.abort();
      }, this.config.stallTimeoutMs);
    };
    armStallTimer();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armStallTimer();
        this.answered();
        this.handleItems(parts.push(value));
      }
      this.handleItems(parts.end());
      if (!this.stopped) this.ctx.logger.info({ device: this.config.id }, 'ISAPI alert stream ended by the panel: reconnecting');
    } catch (err) {
      if (!abort.signal.aborted) this.ctx.logger.info({ device: this.config.id, err: (err as Error).message }, 'ISAPI alert stream broke: reconnecting');
    } finally {
      clearTimeout(stallTimer);
      reader.cancel().catch(() => undefined);
    }
  }

  private handleItems(items: MultipartItem[]): void {
    for (const item of items) {
      if (item.kind === 'error') {
        this.protocolError(`multipart_${item.reason}`, item.detail);
        continue;
      }
      try {
        const part = decodeAlertPart(item);
        if (part.kind === 'access') this.onStreamRecord(part.record);
        else if (part.kind === 'other') this.ctx.logger.debug({ device: this.config.id, eventType: part.eventType }, 'ISAPI event of another kind ignored');
      } catch (err) {
        if (!(err instanceof IsapiDecodeError)) throw err;
        this.protocolError(err.reason, err.message);
      }
    }
  }

  /** A request whose whole answer is read within the request timeout, and cancelled by stop(). */
  private request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<DigestTextResponse> {
    return this.http.fetchText(this.base + path, { ...init, signal: this.lifetime.signal });
  }

  private refusedLogin(res: DigestTextResponse): Error {
    return res.basicRefused ? new DigestAuthError(BASIC_REFUSED_MESSAGE) : new CredentialsRefused();
  }

  private async identify(): Promise<void> {
    const res = await this.request(PATHS.deviceInfo);
    const text = res.text;
    if (res.status === 401) throw this.refusedLogin(res);
    if (res.status !== 200) throw new Error(`deviceInfo answered HTTP ${res.status}`);
    this.answered();
    try {
      const info = parseDeviceXml(text, `deviceInfo of ${this.config.id}`).DeviceInfo as Record<string, unknown> | undefined;
      const field = (name: string) => (typeof info?.[name] === 'string' ? (info[name] as string).slice(0, 128) : undefined);
      this.ctx.logger.info({ device: this.config.id, model: field('model'), serial: field('serialNumber'), firmware: field('firmwareVersion'), name: field('deviceName') }, 'ISAPI panel identified');
    } catch (err) {
      // The panel answers; what it says about itself is not needed to run it.
      if (!(err instanceof XmlError)) throw err;
      this.protocolError(`device_info_${err.reason}`, err.message);
    }
    this.identified = true;
  }

  /**
   * Where the panel's log stands. First connection ever: its newest record is the starting point, not
   * its whole history. Later: a newest serial number below the last one delivered means the log was
   * restarted (panel reset or replaced); serial numbers count from 1 again, so event ids get a new
   * generation and the new log is delivered from its start.
   */
  private async checkLogPosition(): Promise<void> {
    const first = await this.search(0, 1, 0);
    let newestRecord: AcsRecord | undefined;
    if (first.totalMatches > 0) {
      const last = await this.search(first.totalMatches - 1, 1, 0);
      newestRecord = last.records[0];
    }
    const newest = newestRecord?.serialNo ?? 0;
    if (this.lastSerialNo === undefined) {
      this.lastSerialNo = newest;
      this.startsAtFirstRecord = newestRecord === undefined;
      this.lastFingerprint = newestRecord ? recordFingerprint(newestRecord) : undefined;
      this.ctx.logger.info({ device: this.config.id, serialNo: newest }, 'ISAPI panel first seen: events after its newest record will be delivered');
      return;
    }
    let restarted = newest < this.lastSerialNo;
    if (!restarted && this.lastSerialNo > 0) {
      // A reset or replaced panel that has logged as many records as the old one had shows the same
      // serial numbers: only what is recorded under the last one delivered tells the logs apart.
      const page = await this.search(0, 1, this.lastSerialNo, randomUUID(), this.lastSerialNo);
      const atLast = page.records.find((r) => r.serialNo === this.lastSerialNo);
      if (atLast && this.lastFingerprint === undefined) this.lastFingerprint = recordFingerprint(atLast);
      else if (atLast && recordFingerprint(atLast) !== this.lastFingerprint) restarted = true;
      // Not found: overwritten when the log wrapped, which keeps counting on; nothing to compare.
    }
    if (restarted) {
      this.ctx.logger.warn({ device: this.config.id, newest, lastDelivered: this.lastSerialNo }, 'ISAPI panel event log restarted (reset or replaced panel): delivering its new log from the start');
      this.logGeneration += 1;
      this.lastSerialNo = 0;
      this.startsAtFirstRecord = true;
      this.lastFingerprint = undefined;
      this.held.clear();
      this.recent.clear();
    }
  }

  // ---- catching up and ordering ----

  private startCatchUp(): void {
    if (this.catchUpRun) {
      this.catchUpAgain = true;
      return;
    }
    this.catchUpRun = (async () => {
      try {
        let searchesAcrossGap = 0;
        for (;;) {
          do {
            this.catchUpAgain = false;
            await this.catchUp();
          } while (this.catchUpAgain && !this.stopped);
          if (this.stopped) return;
          // Held records are delivered only in an unbroken run from the last one delivered. A gap left
          // means the stream lost a record the searches have not returned: perhaps not logged yet when
          // the search ran, so search again; or gone from the log, so give it up after a few searches.
          if (!this.flushHeld(searchesAcrossGap >= GAP_SEARCHES)) break;
          searchesAcrossGap += 1;
          if (searchesAcrossGap > GAP_SEARCHES) searchesAcrossGap = 0; // given up on one gap; the next gets its own searches
          else await this.pause(this.config.reconnectMinMs);
        }
        this.catchUpOwed = false;
      } catch (err) {
        // Nothing is flushed past a gap: the stream is reopened and the next catch-up starts where this one stopped.
        this.catchUpOwed = true;
        if (err instanceof CredentialsRefused) this.credentialsRefused();
        else if (err instanceof IsapiDecodeError) this.protocolError(err.reason, err.message);
        else if (!this.stopped) this.ctx.logger.warn({ device: this.config.id, err: describeError(err) }, 'ISAPI event log search failed: reconnecting to try again');
        this.streamAbort?.abort();
      } finally {
        this.catchUpRun = undefined;
      }
    })();
  }

  /** A wait that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.lifetime.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.lifetime.signal.addEventListener('abort', done, { once: true });
    });
  }

  private async catchUp(): Promise<void> {
    const from = (this.lastSerialNo ?? 0) + 1;
    const searchID = randomUUID();
    let position = 0;
    let delivered = 0;
    for (;;) {
      if (this.stopped) return;
      const page = await this.search(position, SEARCH_PAGE, from, searchID);
      for (const r of page.records.sort((a, b) => a.serialNo - b.serialNo)) delivered += this.deliver(r) ? 1 : 0;
      if (page.status !== 'MORE') break;
      if (page.numOfMatches === 0) {
        this.protocolError('search_no_progress', 'AcsEvent answered MORE with no records');
        break;
      }
      position += page.numOfMatches;
    }
    if (delivered > 0) this.ctx.logger.info({ device: this.config.id, delivered, fromSerialNo: from }, 'ISAPI events caught up from the panel log');
  }

  private async search(position: number, maxResults: number, beginSerialNo: number, searchID: string = randomUUID(), endSerialNo = 0) {
    const cond = {
      AcsEventCond: {
        searchID,
        searchResultPosition: position,
        maxResults,
        major: 0,
        minor: 0,
        startTime: SEARCH_FROM,
        endTime: SEARCH_TO,
        ...(beginSerialNo > 0 ? { beginSerialNo } : {}),
        ...(endSerialNo > 0 ? { endSerialNo } : {}),
      },
    };
    const res = await this.request(PATHS.acsEvent, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cond) });
    const text = res.text;
    if (res.status === 401) throw this.refusedLogin(res);
    if (res.status !== 200) throw new Error(`AcsEvent search answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    this.answered();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new IsapiDecodeError('bad_search_answer', `AcsEvent answer is not valid JSON: ${(err as Error).message}`);
    }
    const page = decodeAcsEventPage(json);
    for (const why of page.refused) this.protocolError('bad_search_record', `AcsEvent record not understood: ${why}`);
    return page;
  }

  private get catchingUp(): boolean {
    return this.catchUpRun !== undefined || this.catchUpOwed;
  }

  private onStreamRecord(record: AcsRecord): void {
    const last = this.lastSerialNo;
    if (last !== undefined && record.serialNo <= last) {
      // A repeat of a record just delivered from the log is expected; a different record under an old
      // serial number means the panel's log restarted: reconnect, and the log check sorts it out.
      if (this.recent.get(record.serialNo) !== recordFingerprint(record)) {
        this.ctx.logger.warn({ device: this.config.id, serialNo: record.serialNo, lastDelivered: last }, 'ISAPI panel sent an old serial number with a new event: checking its log');
        this.streamAbort?.abort();
      }
      return;
    }
    if (this.catchingUp || (last !== undefined && record.serialNo > last + 1)) {
      // Held until the log search has delivered what came before it (a jump in serial numbers means
      // the stream lost events, e.g. a part that arrived broken).
      if (this.held.size < MAX_HELD) this.held.set(record.serialNo, record);
      else this.catchUpAgain = true;
      if (!this.catchingUp) this.startCatchUp();
      return;
    }
    this.deliver(record);
  }

  /**
   * Delivers the held records that follow the last one delivered without a gap; `acrossGap` delivers
   * past the first gap too (its records given up as lost). Returns whether records remain held.
   */
  private flushHeld(acrossGap: boolean): boolean {
    const records = [...this.held.values()].sort((a, b) => a.serialNo - b.serialNo);
    for (const r of records) {
      const last = this.lastSerialNo ?? 0;
      if (r.serialNo <= last) {
        this.held.delete(r.serialNo); // delivered from the log meanwhile
        continue;
      }
      if (r.serialNo !== last + 1 && !acrossGap) break;
      acrossGap = false;
      this.deliver(r);
    }
    return this.held.size > 0;
  }

  /** Delivers a record once: anything at or below the last serial number delivered is a repeat. */
  private deliver(record: AcsRecord): boolean {
    if (this.lastSerialNo !== undefined && record.serialNo <= this.lastSerialNo) return false;
    if (this.lastSerialNo !== undefined && record.serialNo > this.lastSerialNo + 1 && !this.startsAtFirstRecord) {
      const missing = { from: this.lastSerialNo + 1, to: record.serialNo - 1 };
      this.ctx.metrics.protocolErrors.inc({ protocol: 'isapi', reason: 'events_lost' }, missing.to - missing.from + 1);
      this.ctx.logger.error(
        { device: this.config.id, missingFrom: missing.from, missingTo: missing.to },
        `ISAPI panel ${this.config.id}: events ${missing.from} to ${missing.to} are neither on the alert stream nor in the panel's log (overwritten?): they are lost`,
      );
    }
    this.lastSerialNo = record.serialNo;
    this.startsAtFirstRecord = false;
    this.lastFingerprint = recordFingerprint(record);
    this.held.delete(record.serialNo);
    this.recent.set(record.serialNo, recordFingerprint(record));
    if (this.recent.size > RECENT_RECORDS) this.recent.delete(this.recent.keys().next().value!);
    const result = normaliseAcsRecord(record);
    if ('skipped' in result) {
      if (result.skipped === 'unknown') this.protocolError('unknown_event_code', `event code ${result.what} (serial ${record.serialNo}) not known: not forwarded`);
      return false;
    }
    const panelTs = record.time ? Date.parse(record.time) : NaN;
    this.emit(result.event, this.eventId(record.serialNo), Number.isFinite(panelTs) ? panelTs : Date.now());
    return true;
  }

  /** The same panel record always gets the same id, so a replay is recognised downstream. */
  private eventId(serialNo: number): string {
    const suffix = this.logGeneration === 0 ? `${serialNo}` : `g${this.logGeneration}-${serialNo}`;
    const id = `${this.config.id}-${suffix}`;
    return id.length <= 64 ? id : `${createHash('sha256').update(this.config.id).digest('hex').slice(0, 32)}-${suffix}`;
  }

  private emit(event: NormalisedAcsEvent, id: string, at: number): void {
    this.ctx.metrics.deviceEvents.inc({ type: event.type });
    // Strictly increasing per device, so ordering by time keeps the panel's order (its clock has whole seconds).
    this.lastEventTs = Math.max(at, this.lastEventTs + 1);
    this.ctx.sink.event({ id, device: this.config.id, ts: this.lastEventTs, ...event });
  }

  private emitLinkEvent(type: EventType, reason: string): void {
    this.emit({ type, reason }, randomUUID(), Date.now());
  }

  // ---- supervision ----

  private answered(): void {
    this.lastAnswerAt = Date.now();
    this.failureReported = false;
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 1);
    if (this.online === false) {
      this.emitLinkEvent('device_online', 'the panel answers again');
      this.ctx.logger.info({ device: this.config.id }, 'ISAPI panel back online');
    }
    this.online = true;
  }

  private checkOffline(): void {
    if (this.stopped || this.online === false) return;
    const silentMs = Date.now() - this.lastAnswerAt;
    // A quiet stream is not a dead panel: a panel without heartbeats (or with a long interval) says
    // nothing between events. Before it could count as offline, ask it something small.
    if (silentMs >= this.config.offlineAfterMs / 2 && !this.probing) {
      this.probing = true;
      this.request(PATHS.deviceInfo)
        .then((res) => {
          if (res.status === 200) this.answered();
        })
        .catch(() => undefined)
        .finally(() => {
          this.probing = false;
        });
    }
    if (silentMs < this.config.offlineAfterMs) return;
    this.goOffline(`no answer for ${(this.config.offlineAfterMs / 1000).toFixed(1)} s`);
  }

  private goOffline(reason: string): void {
    this.online = false;
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 0);
    this.emitLinkEvent('device_offline', reason);
    this.ctx.logger.warn({ device: this.config.id, reason }, 'ISAPI panel offline');
  }

  private credentialsRefused(): void {
    this.ctx.logger.error({ device: this.config.id, url: this.where, username: this.config.username }, `ISAPI panel ${this.config.id} at ${this.where}: credentials refused (HTTP 401); check the user name and password in the config`);
    // Panels lock the account after a few failed logins: try again rarely.
    this.reconnectDelay = this.config.reconnectMaxMs;
    if (this.online !== false) this.goOffline('credentials refused');
  }

  private protocolError(reason: string, detail: string): void {
    this.ctx.metrics.protocolErrors.inc({ protocol: 'isapi', reason });
    this.ctx.logger.warn({ device: this.config.id, reason, detail }, 'ISAPI input refused');
  }

  // ---- door commands ----

  async executeDoorCommand(command: DoorCommand): Promise<DoorCommandOutcome> {
    const outcome = await this.doorCommand(command);
    return { ...outcome, detail: clip(outcome.detail, DETAIL_MAX) };
  }

  private async doorCommand(command: DoorCommand): Promise<DoorCommandOutcome> {
    if (!/^[1-9][0-9]{0,2}$/.test(command.door)) return { ok: false, detail: `panel ${this.config.id} has no door "${clip(command.door, 32)}" (doors are numbered 1 to ${this.config.doors})` };
    const door = Number(command.door);
    const cmd = command.action === 'open' ? 'open' : 'close';
    const xml = `<?xml version="1.0" encoding="UTF-8"?><RemoteControlDoor version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><cmd>${cmd}</cmd></RemoteControlDoor>`;
    let res: DigestTextResponse;
    try {
      res = await this.request(PATHS.door(door), { method: 'PUT', headers: { 'content-type': 'application/xml' }, body: xml });
    } catch (err) {
      if (this.stopped) return { ok: false, detail: `panel ${this.config.id}: the driver stopped before the panel answered` };
      return { ok: false, detail: `panel ${this.config.id} did not answer: ${clip(describeError(err), 200)}` };
    }
    const text = res.text;
    if (res.status === 401 && res.basicRefused) return { ok: false, detail: `panel ${this.config.id}: ${BASIC_REFUSED_MESSAGE}` };
    if (res.status === 401) {
      this.credentialsRefused();
      return { ok: false, detail: `panel ${this.config.id} refused the credentials (HTTP 401)` };
    }
    this.answered();
    const status = this.readResponseStatus(text, res.headers.get('content-type'));
    if (!status) return { ok: false, detail: `panel ${this.config.id} answered HTTP ${res.status} with an unreadable ResponseStatus` };
    if (res.status !== 200 || status.statusCode !== '1') {
      const what = [status.statusString, status.subStatusCode, status.errorMsg].filter(Boolean).join(', ');
      return { ok: false, detail: `panel ${this.config.id} refused ${cmd} door ${door}: HTTP ${res.status}, statusCode ${status.statusCode ?? '?'} (${what})` };
    }
    const doorState = await this.lockState(door);
    const verb = cmd === 'open' ? 'unlocked' : 'locked';
    const duration = cmd === 'open' && command.durationMs !== undefined ? ' for the door’s own unlock time (ISAPI sets no duration per command)' : '';
    return { ok: true, detail: `door ${door} ${verb}${duration}${doorState === 'unknown' ? '; its state could not be read back' : ''}`, doorState };
  }

  private readResponseStatus(text: string, contentType: string | null): Record<'statusCode' | 'statusString' | 'subStatusCode' | 'errorMsg', string | undefined> | undefined {
    const pick = (o: Record<string, unknown>) => {
      const s = (k: string) => (o[k] === undefined || o[k] === null ? undefined : clip(String(o[k]), STATUS_FIELD_MAX));
      return { statusCode: s('statusCode'), statusString: s('statusString'), subStatusCode: s('subStatusCode'), errorMsg: s('errorMsg') };
    };
    try {
      if (contentType?.includes('json') || text.trimStart().startsWith('{')) {
        const json = JSON.parse(text) as unknown;
        if (typeof json === 'object' && json !== null) return pick(json as Record<string, unknown>);
        throw new Error('not an object');
      }
      const doc = parseDeviceXml(text, `ResponseStatus from ${this.config.id}`).ResponseStatus;
      if (typeof doc !== 'object' || doc === null) throw new Error('no ResponseStatus element');
      return pick(doc as Record<string, unknown>);
    } catch (err) {
      this.protocolError(err instanceof XmlError ? `response_status_${err.reason}` : 'bad_response_status', (err as Error).message);
      return undefined;
    }
  }

  /** The door's lock as the panel reports it after a command (AcsWorkStatus doorLockStatus: 0 locked, 1 unlocked). */
  private async lockState(door: number): Promise<DoorCommandOutcome['doorState']> {
    try {
      const res = await this.request(PATHS.workStatus);
      if (res.status !== 200) return 'unknown';
      const status = (JSON.parse(res.text) as { AcsWorkStatus?: { doorLockStatus?: unknown } }).AcsWorkStatus?.doorLockStatus;
      const value = Array.isArray(status) ? status[door - 1] : undefined;
      if (value === 0) return 'locked';
      if (value === 1) return 'unlocked';
      return 'unknown';
    } catch (err) {
      if (err instanceof SyntaxError) this.protocolError('bad_work_status', `AcsWorkStatus not understood: ${err.message}`);
      else if (!this.stopped) this.ctx.logger.warn({ device: this.config.id, err: describeError(err) }, 'ISAPI door state not read back');
      return 'unknown';
    }
  }
}
