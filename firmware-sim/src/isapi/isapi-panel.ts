import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createDigestGuard, type DigestGuard } from '../http/digest-server.js';
import { ACS_MAJOR, ACS_MINOR } from './acs-event-codes.js';
import { deviceInfoXml, eventNotificationAlertXml, panelTime, responseStatusJson, responseStatusXml, ISAPI_STATUS, type DeviceIdentity, type IsapiStatus } from './isapi-responses.js';

export const ALERT_STREAM_BOUNDARY = 'MIME_boundary';
/** Real panels cap one AcsEvent search page at 30 records whatever maxResults asks. */
export const ACS_EVENT_PAGE_LIMIT = 30;

export interface SimulatedIsapiPanelOptions {
  /** serial number of the first event it records (a panel whose log was cleared counts on; default 1) */
  firstSerialNo?: number;
  /** password of the user `admin` */
  password?: string;
  doors?: number;
  /** card numbers the panel grants */
  cards?: string[];
  deviceName?: string;
  model?: string;
  serialNumber?: string;
  /** a heartbeat part on an idle alert stream after this long (default 5 s) */
  heartbeatMs?: number;
  /** how long a door stays unlocked after a grant, an exit button or a remote open (default 5 s) */
  unlockMs?: number;
  /** the panel's time zone, minutes east of UTC (default +08:00) */
  utcOffsetMinutes?: number;
  ipAddress?: string;
  /** failed logins in a row that lock the account (default 5, as the firmware does) */
  lockoutAfter?: number;
  /** how long a locked account stays locked (default 30 min) */
  lockoutMs?: number;
  /**
   * how events go out on the alert stream: JSON parts as current firmware sends them, or XML
   * EventNotificationAlert parts as older firmware and many controllers do (default 'json')
   */
  alertFormat?: 'json' | 'xml';
}

/** One record of the panel's event log, as it keeps it. */
export interface PanelEvent {
  serialNo: number;
  major: number;
  minor: number;
  /** epoch ms */
  at: number;
  doorNo?: number;
  cardReaderNo?: number;
  cardNo?: string;
  verifyMode?: string;
}

interface DoorState {
  locked: boolean;
  open: boolean;
  relockTimer: NodeJS.Timeout | undefined;
}

interface AlertStream {
  res: ServerResponse;
  lastWriteAt: number;
  silent: boolean;
}

/**
 * A Hikvision-style access-control panel (DS-K2600 series) over HTTP: Digest auth on every endpoint,
 * device info, the multipart alert stream with heartbeats, the AcsEvent log search, remote door
 * control and the work status. It keeps every event with an increasing serial number, so a client can
 * catch up on what it missed; scenario methods act out what happens at the doors, and fault methods
 * break the link the ways real panels and networks do.
 */
export class SimulatedIsapiPanel {
  private readonly password: string;
  private readonly cards: Set<string>;
  private readonly heartbeatMs: number;
  private readonly unlockMs: number;
  private readonly utcOffsetMinutes: number;
  private readonly ipAddress: string;
  private readonly alertFormat: 'json' | 'xml';
  private readonly identity: DeviceIdentity;
  private readonly guard: DigestGuard;
  private readonly doorStates: DoorState[];
  private readonly log: PanelEvent[] = [];
  private readonly streams = new Set<AlertStream>();
  private readonly sockets = new Set<Socket>();
  private nextSerialNo = 1;
  private offline = false;
  private corruptNext = false;
  /** events still to come that reach the streams but are not kept in the log */
  private unloggedToCome = 0;
  /** path prefixes whose next answer stalls after its headers */
  private readonly stallNext: string[] = [];
  private readonly stalled = new WeakSet<ServerResponse>();
  private searchDelayMs = 0;
  private searchesWaiting = 0;
  private doorFault: IsapiStatus | undefined;
  private readonly lockoutAfter: number;
  private readonly lockoutMs: number;
  private failedLogins = 0;
  private lockedUntil = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** requests refused by Digest auth, by reason, for tests */
  readonly authRefusals: string[] = [];

  constructor(options: SimulatedIsapiPanelOptions = {}) {
    this.password = options.password ?? 'Gatehouse12';
    this.nextSerialNo = options.firstSerialNo ?? 1;
    this.cards = new Set(options.cards ?? []);
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    this.unlockMs = options.unlockMs ?? 5000;
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 8 * 60;
    this.ipAddress = options.ipAddress ?? '192.168.1.64';
    this.alertFormat = options.alertFormat ?? 'json';
    this.lockoutAfter = options.lockoutAfter ?? 5;
    this.lockoutMs = options.lockoutMs ?? 30 * 60_000;
    const model = options.model ?? 'DS-K2604T';
    this.identity = {
      deviceName: options.deviceName ?? 'Access Controller',
      deviceID: randomUUID(),
      model,
      serialNumber: options.serialNumber ?? `${model}20260101V030200ENG${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
      macAddress: 'c0:56:e3:12:34:56',
      firmwareVersion: 'V3.2.0',
      firmwareReleasedDate: 'build 260101',
    };
    // Hikvision panels use their model family as the Digest realm.
    this.guard = createDigestGuard({ realm: 'DS-K2600', users: { admin: this.password } });
    this.doorStates = Array.from({ length: options.doors ?? 1 }, () => ({ locked: true, open: false, relockTimer: undefined }));
  }

  /** every event the panel recorded, oldest first */
  get events(): readonly PanelEvent[] {
    return this.log;
  }

  /** true while failed logins keep the admin account locked */
  get accountLocked(): boolean {
    return Date.now() < this.lockedUntil;
  }

  /** AcsEvent searches answered (their matches taken) but not yet sent, see delaySearchAnswers() */
  get pendingSearches(): number {
    return this.searchesWaiting;
  }

  /** open alert stream connections */
  get openStreams(): number {
    return this.streams.size;
  }

  doorState(door: number): { locked: boolean; open: boolean } {
    const d = this.door(door);
    return { locked: d.locked, open: d.open };
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket: Socket) => {
      // Offline: the panel accepts nothing (as good as a refused connection for the client).
      if (this.offline) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    this.heartbeatTimer = setInterval(() => this.heartbeat(), Math.max(50, Math.floor(this.heartbeatMs / 4)));
    this.heartbeatTimer.unref();
    return {
      port: (server.address() as AddressInfo).port,
      close: async () => {
        clearInterval(this.heartbeatTimer);
        for (const d of this.doorStates) clearTimeout(d.relockTimer);
        for (const s of this.sockets) s.destroy();
        this.streams.clear();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  // ---- what happens at the doors ----

  /** A card at door `door`'s reader: enrolled cards are granted (unless `granted` says otherwise), others refused as unknown. */
  swipeCard(cardNo: string, door = 1, granted?: boolean): void {
    this.door(door);
    const enrolled = this.cards.has(cardNo);
    const allow = granted ?? enrolled;
    const base = { doorNo: door, cardReaderNo: door, cardNo, verifyMode: 'card' };
    if (allow) {
      this.record(ACS_MAJOR.event, ACS_MINOR.validCard, base);
      this.unlock(door);
    } else {
      this.record(ACS_MAJOR.event, enrolled ? ACS_MINOR.cardNoPermission : ACS_MINOR.cardNotExist, base);
    }
  }

  /** The door contact opens while the lock is closed. */
  forceDoor(door = 1): void {
    const d = this.door(door);
    d.open = true;
    this.record(ACS_MAJOR.event, ACS_MINOR.doorOpenAbnormal, { doorNo: door });
  }

  /** The door is opened normally and then left open past its open duration. */
  holdDoorOpen(door = 1): void {
    const d = this.door(door);
    if (!d.open) {
      d.open = true;
      this.record(ACS_MAJOR.event, ACS_MINOR.doorOpenNormal, { doorNo: door });
    }
    this.record(ACS_MAJOR.event, ACS_MINOR.doorOpenTimeout, { doorNo: door });
  }

  openDoorContact(door = 1): void {
    const d = this.door(door);
    if (d.open) return;
    d.open = true;
    this.record(ACS_MAJOR.event, d.locked ? ACS_MINOR.doorOpenAbnormal : ACS_MINOR.doorOpenNormal, { doorNo: door });
  }

  closeDoorContact(door = 1): void {
    const d = this.door(door);
    if (!d.open) return;
    d.open = false;
    this.record(ACS_MAJOR.event, ACS_MINOR.doorClosedNormal, { doorNo: door });
  }

  /** The tamper switch of the reader on door 1 (its cover is removed). */
  tamper(): void {
    this.record(ACS_MAJOR.alarm, ACS_MINOR.readerTamper, { cardReaderNo: 1 });
  }

  duress(door = 1): void {
    this.record(ACS_MAJOR.alarm, ACS_MINOR.duress, { doorNo: door, cardReaderNo: door });
  }

  exitButton(door = 1): void {
    this.record(ACS_MAJOR.event, ACS_MINOR.exitButtonPressed, { doorNo: door });
    this.unlock(door);
  }

  // ---- what goes wrong with the link ----

  /** Offline: open connections are dropped and new ones refused; events keep being recorded. */
  setOffline(offline: boolean): void {
    this.offline = offline;
    if (offline) {
      this.streams.clear();
      for (const s of this.sockets) s.destroy();
    }
  }

  /** The streams open now stay connected but go silent: no events, no heartbeats. */
  stallStream(): void {
    for (const s of this.streams) s.silent = true;
  }

  /** Writes a broken event part (JSON or XML, as the panel sends events) and then raw text that is no part at all on every open stream. */
  sendGarbageOnStream(): void {
    const broken =
      this.alertFormat === 'xml'
        ? `<EventNotificationAlert version="2.0"><ipAddress>${this.ipAddress}</ipAddress><eventType>AccessControllerEvent</eventType><AccessControllerEvent><majorEventType>5</majorEventType><subEv`
        : '{"ipAddress":"' + this.ipAddress + '","eventType":"AccessControllerEvent","AccessControllerEvent":{"majorEventType":5,"subEv';
    for (const s of this.audibleStreams()) {
      this.writePart(s, this.alertContentType(), broken);
      s.res.write('this is not a MIME part\r\n--MIME_bound\r\nContent-Type: text/plain\r\n\r\n\u0000\u00ff garbage\r\n');
    }
  }

  /** The next event is recorded as usual but reaches open streams cut short (its JSON or XML broken). */
  corruptNextEventOnStream(): void {
    this.corruptNext = true;
  }

  /**
   * The next `count` events reach open streams but are not kept in the log, as records overwritten
   * when a full log wraps: no search finds them.
   */
  leaveNextEventsOutOfLog(count = 1): void {
    this.unloggedToCome += count;
  }

  /**
   * The next answer to a request whose path starts with `pathPrefix` (the alert stream excepted) sends
   * its headers and half its body, then nothing more: the connection stays open and silent.
   */
  stallNextAnswer(pathPrefix = '/'): void {
    this.stallNext.push(pathPrefix);
  }

  /** AcsEvent searches take their matches at once but answer `ms` later, as a busy panel does (0: at once). */
  delaySearchAnswers(ms: number): void {
    this.searchDelayMs = ms;
  }

  /** Remote door commands are refused with this status (HTTP 400), until called with undefined. */
  failDoorCommands(status: IsapiStatus | undefined): void {
    this.doorFault = status;
  }

  /** The panel is reset: its event log is cleared and serial numbers start from 1 again. */
  resetEventLog(): void {
    this.log.length = 0;
    this.nextSerialNo = 1;
  }

  /** Closes every open alert stream connection; the panel keeps recording. */
  dropStreams(): void {
    for (const s of this.streams) s.res.destroy();
    this.streams.clear();
  }

  // ---- the panel itself ----

  private door(door: number): DoorState {
    const d = this.doorStates[door - 1];
    if (!d) throw new RangeError(`the panel has doors 1 to ${this.doorStates.length}, not ${door}`);
    return d;
  }

  private unlock(door: number): void {
    const d = this.door(door);
    clearTimeout(d.relockTimer);
    if (d.locked) {
      d.locked = false;
      this.record(ACS_MAJOR.event, ACS_MINOR.doorUnlocked, { doorNo: door });
    }
    d.relockTimer = setTimeout(() => this.lock(door), this.unlockMs);
    d.relockTimer.unref();
  }

  private lock(door: number): void {
    const d = this.door(door);
    clearTimeout(d.relockTimer);
    if (d.locked) return;
    d.locked = true;
    this.record(ACS_MAJOR.event, ACS_MINOR.doorLocked, { doorNo: door });
  }

  private record(major: number, minor: number, detail: Omit<PanelEvent, 'serialNo' | 'major' | 'minor' | 'at'>): PanelEvent {
    const event: PanelEvent = { serialNo: this.nextSerialNo++, major, minor, at: Date.now(), ...detail };
    if (this.unloggedToCome > 0) this.unloggedToCome -= 1;
    else this.log.push(event);
    const alert = this.alertJson(event);
    let body = this.alertFormat === 'xml' ? eventNotificationAlertXml(alert) : JSON.stringify(alert);
    if (this.corruptNext) {
      this.corruptNext = false;
      body = body.slice(0, Math.floor(body.length / 2));
    }
    for (const s of this.audibleStreams()) this.writePart(s, this.alertContentType(), body);
    return event;
  }

  private alertContentType(): string {
    return this.alertFormat === 'xml' ? 'application/xml; charset="UTF-8"' : 'application/json; charset="UTF-8"';
  }

  private alertJson(e: PanelEvent) {
    return {
      ipAddress: this.ipAddress,
      portNo: 80,
      protocol: 'HTTP',
      macAddress: this.identity.macAddress,
      channelID: 1,
      dateTime: panelTime(e.at, this.utcOffsetMinutes),
      activePostCount: 1,
      eventType: 'AccessControllerEvent',
      eventState: 'active',
      eventDescription: 'Access Controller Event',
      AccessControllerEvent: {
        deviceName: this.identity.deviceName,
        majorEventType: e.major,
        subEventType: e.minor,
        ...(e.cardNo !== undefined ? { cardNo: e.cardNo, cardType: 1 } : {}),
        ...(e.cardReaderNo !== undefined ? { cardReaderKind: 1, cardReaderNo: e.cardReaderNo } : {}),
        ...(e.doorNo !== undefined ? { doorNo: e.doorNo } : {}),
        serialNo: e.serialNo,
        ...(e.verifyMode ? { currentVerifyMode: e.verifyMode } : {}),
        attendanceStatus: 'undefined',
        statusValue: 0,
        mask: 'unknown',
        purePwdVerifyEnable: true,
      },
    };
  }

  private audibleStreams(): AlertStream[] {
    return [...this.streams].filter((s) => !s.silent && !s.res.destroyed);
  }

  private writePart(stream: AlertStream, contentType: string, body: string): void {
    stream.lastWriteAt = Date.now();
    stream.res.write(`--${ALERT_STREAM_BOUNDARY}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\r\n`);
  }

  /** Idle streams get the keepalive real panels send: a videoloss event in state inactive, as XML. */
  private heartbeat(): void {
    const now = Date.now();
    for (const s of this.audibleStreams()) {
      if (now - s.lastWriteAt < this.heartbeatMs) continue;
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\n` +
        `<ipAddress>${this.ipAddress}</ipAddress>\n<portNo>80</portNo>\n<protocol>HTTP</protocol>\n<macAddress>${this.identity.macAddress}</macAddress>\n` +
        `<channelID>1</channelID>\n<dateTime>${panelTime(now, this.utcOffsetMinutes)}</dateTime>\n<activePostCount>0</activePostCount>\n` +
        `<eventType>videoloss</eventType>\n<eventState>inactive</eventState>\n<eventDescription>videoloss alarm</eventDescription>\n</EventNotificationAlert>\n`;
      this.writePart(s, 'application/xml; charset="UTF-8"', xml);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.offline) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.socket.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const auth = this.guard.check(req);
      const url = new URL(req.url ?? '/', 'http://panel');
      const wantsJson = url.searchParams.get('format') === 'json';
      if (Date.now() < this.lockedUntil) {
        // A locked account is refused whatever the password, until the lock expires.
        this.authRefusals.push('locked');
        this.status(res, 401, url.pathname, { ...ISAPI_STATUS.unauthorized, errorMsg: `user locked, unlock in ${Math.ceil((this.lockedUntil - Date.now()) / 1000)} s` }, wantsJson, { 'WWW-Authenticate': this.guard.challenge() });
        return;
      }
      if (!auth.ok) {
        this.authRefusals.push(auth.reason);
        // Only a wrong password or user counts as a failed login, not a missing or stale authorization.
        if ((auth.reason === 'bad_response' || auth.reason === 'unknown_user') && ++this.failedLogins >= this.lockoutAfter) {
          this.lockedUntil = Date.now() + this.lockoutMs;
          this.failedLogins = 0;
        }
        this.status(res, 401, url.pathname, ISAPI_STATUS.unauthorized, wantsJson, { 'WWW-Authenticate': auth.header });
        return;
      }
      this.failedLogins = 0;
      try {
        this.route(req.method ?? 'GET', url, Buffer.concat(chunks).toString('utf8'), res);
      } catch (err) {
        this.status(res, 500, url.pathname, { statusCode: 3, statusString: 'Device Error', subStatusCode: 'deviceError', errorMsg: (err as Error).message }, wantsJson);
      }
    });
  }

  private route(method: string, url: URL, body: string, res: ServerResponse): void {
    const path = url.pathname;
    const stall = path === '/ISAPI/Event/notification/alertStream' ? -1 : this.stallNext.findIndex((prefix) => path.startsWith(prefix));
    if (stall >= 0) {
      this.stallNext.splice(stall, 1);
      this.stalled.add(res);
    }
    const wantsJson = url.searchParams.get('format') === 'json';
    if (method === 'GET' && path === '/ISAPI/System/deviceInfo') return this.sendText(res, 200, 'application/xml', deviceInfoXml(this.identity));
    if (method === 'GET' && path === '/ISAPI/Event/notification/alertStream') return this.openAlertStream(res);
    if (method === 'POST' && path === '/ISAPI/AccessControl/AcsEvent' && wantsJson) return this.searchEvents(body, path, res);
    if (method === 'GET' && path === '/ISAPI/AccessControl/AcsWorkStatus' && wantsJson) return this.sendText(res, 200, 'application/json', JSON.stringify(this.workStatus()));
    const door = /^\/ISAPI\/AccessControl\/RemoteControl\/door\/([^/]+)$/.exec(path);
    if (method === 'PUT' && door) return this.remoteControl(door[1]!, body, path, wantsJson, res);
    this.status(res, 404, path, { ...ISAPI_STATUS.notSupported, errorMsg: `${method} ${path}` }, wantsJson);
  }

  private sendText(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
    if (this.stalled.has(res)) res.write(body.slice(0, Math.floor(body.length / 2)));
    else res.end(body);
  }

  private status(res: ServerResponse, httpStatus: number, path: string, status: IsapiStatus, json: boolean, headers: Record<string, string> = {}): void {
    if (json) this.sendText(res, httpStatus, 'application/json', responseStatusJson(path, status), headers);
    else this.sendText(res, httpStatus, 'application/xml', responseStatusXml(path, status), headers);
  }

  private openAlertStream(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': `multipart/mixed; boundary=${ALERT_STREAM_BOUNDARY}`, Connection: 'keep-alive' });
    const stream: AlertStream = { res, lastWriteAt: 0, silent: false };
    this.streams.add(stream);
    res.on('close', () => this.streams.delete(stream));
    // The first heartbeat goes out at once, so the client knows the stream is live.
    this.heartbeat();
  }

  private workStatus() {
    return {
      AcsWorkStatus: {
        // doorLockStatus: 0 locked, 1 unlocked; magneticStatus: 0 closed, 1 open; doorStatus 4 = normal (controlled).
        doorLockStatus: this.doorStates.map((d) => (d.locked ? 0 : 1)),
        doorStatus: this.doorStates.map(() => 4),
        magneticStatus: this.doorStates.map((d) => (d.open ? 1 : 0)),
        caseStatus: [],
        antiSneakStatus: 'close',
        hostAntiDismantleStatus: 'close',
        cardReaderOnlineStatus: this.doorStates.map(() => 1),
        cardReaderAntiDismantleStatus: this.doorStates.map(() => 0),
        cardNum: this.cards.size,
        netStatus: 'connected',
      },
    };
  }

  private remoteControl(doorText: string, body: string, path: string, json: boolean, res: ServerResponse): void {
    const cmd = json ? this.commandFromJson(body) : this.commandFromXml(body);
    if (cmd === undefined) return this.status(res, 400, path, json ? ISAPI_STATUS.badJsonFormat : ISAPI_STATUS.badXmlFormat, json);
    if (!['open', 'close', 'alwaysOpen', 'alwaysClose', 'resume'].includes(cmd)) return this.status(res, 400, path, { ...ISAPI_STATUS.badXmlContent, errorMsg: `cmd ${cmd}` }, json);
    const door = /^[0-9]{1,3}$/.test(doorText) ? Number(doorText) : NaN;
    if (!(door >= 1 && door <= this.doorStates.length)) return this.status(res, 400, path, { ...ISAPI_STATUS.badParameters, errorMsg: `doorNo ${doorText}` }, json);
    if (this.doorFault) return this.status(res, 400, path, this.doorFault, json);
    const d = this.door(door);
    switch (cmd) {
      case 'open':
        this.record(ACS_MAJOR.operation, ACS_MINOR.remoteOpenDoor, { doorNo: door });
        this.unlock(door);
        break;
      case 'close':
        this.record(ACS_MAJOR.operation, ACS_MINOR.remoteCloseDoor, { doorNo: door });
        this.lock(door);
        break;
      case 'alwaysOpen':
        this.record(ACS_MAJOR.operation, ACS_MINOR.remoteAlwaysOpen, { doorNo: door });
        this.unlock(door);
        clearTimeout(d.relockTimer);
        break;
      case 'alwaysClose':
        this.record(ACS_MAJOR.operation, ACS_MINOR.remoteAlwaysClose, { doorNo: door });
        this.lock(door);
        break;
      default:
        break;
    }
    this.status(res, 200, path, ISAPI_STATUS.ok, json);
  }

  /** The cmd of a RemoteControlDoor document; the simulator reads it with a pattern, not an XML library. */
  private commandFromXml(body: string): string | undefined {
    const m = /^\s*(?:<\?xml[^>]*\?>\s*)?<RemoteControlDoor(?:\s[^>]*)?>\s*<cmd>([A-Za-z]+)<\/cmd>\s*<\/RemoteControlDoor>\s*$/.exec(body);
    return m?.[1];
  }

  private commandFromJson(body: string): string | undefined {
    try {
      const cmd = (JSON.parse(body) as { RemoteControlDoor?: { cmd?: unknown } }).RemoteControlDoor?.cmd;
      return typeof cmd === 'string' ? cmd : undefined;
    } catch {
      return undefined;
    }
  }

  private searchEvents(body: string, path: string, res: ServerResponse): void {
    let cond: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body) as { AcsEventCond?: unknown };
      if (typeof parsed.AcsEventCond !== 'object' || parsed.AcsEventCond === null) throw new Error('AcsEventCond missing');
      cond = parsed.AcsEventCond as Record<string, unknown>;
    } catch (err) {
      return this.status(res, 400, path, { ...ISAPI_STATUS.badJsonFormat, errorMsg: (err as Error).message }, true);
    }
    const int = (name: string, fallback?: number): number | undefined => {
      const v = cond[name];
      if (v === undefined) return fallback;
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : NaN;
    };
    const searchID = cond.searchID;
    const position = int('searchResultPosition');
    const maxResults = int('maxResults');
    const major = int('major', 0);
    const minor = int('minor', 0);
    const begin = int('beginSerialNo');
    const end = int('endSerialNo');
    const startTime = typeof cond.startTime === 'string' ? Date.parse(cond.startTime) : undefined;
    const endTime = typeof cond.endTime === 'string' ? Date.parse(cond.endTime) : undefined;
    const bad = [
      typeof searchID !== 'string' || searchID.length === 0 ? 'searchID' : undefined,
      position === undefined || Number.isNaN(position) ? 'searchResultPosition' : undefined,
      maxResults === undefined || Number.isNaN(maxResults) || maxResults < 1 ? 'maxResults' : undefined,
      Number.isNaN(major) ? 'major' : undefined,
      Number.isNaN(minor) ? 'minor' : undefined,
      Number.isNaN(begin) ? 'beginSerialNo' : undefined,
      Number.isNaN(end) ? 'endSerialNo' : undefined,
      Number.isNaN(startTime) ? 'startTime' : undefined,
      Number.isNaN(endTime) ? 'endTime' : undefined,
    ].filter(Boolean);
    if (bad.length > 0) return this.status(res, 400, path, { ...ISAPI_STATUS.badParameters, errorMsg: bad.join(', ') }, true);
    // Times are compared at the second resolution the panel shows them with.
    const second = (ms: number) => Math.floor(ms / 1000);
    const matches = this.log.filter(
      (e) =>
        (major === 0 || e.major === major) &&
        (minor === 0 || e.minor === minor) &&
        (begin === undefined || e.serialNo >= begin) &&
        (end === undefined || e.serialNo <= end) &&
        (startTime === undefined || second(e.at) >= second(startTime)) &&
        (endTime === undefined || second(e.at) <= second(endTime)),
    );
    const page = matches.slice(position!, position! + Math.min(maxResults!, ACS_EVENT_PAGE_LIMIT));
    const status = page.length === 0 ? 'NO MATCH' : position! + page.length < matches.length ? 'MORE' : 'OK';
    const answer = {
      AcsEvent: {
        searchID,
        responseStatusStrg: status,
        numOfMatches: page.length,
        totalMatches: matches.length,
        ...(page.length > 0 ? { InfoList: page.map((e) => this.infoItem(e)) } : {}),
      },
    };
    const text = JSON.stringify(answer);
    if (this.searchDelayMs <= 0) return this.sendText(res, 200, 'application/json', text);
    this.searchesWaiting += 1;
    setTimeout(() => {
      this.searchesWaiting -= 1;
      if (!res.destroyed) this.sendText(res, 200, 'application/json', text);
    }, this.searchDelayMs).unref();
  }

  private infoItem(e: PanelEvent) {
    return {
      major: e.major,
      minor: e.minor,
      time: panelTime(e.at, this.utcOffsetMinutes),
      ...(e.cardNo !== undefined ? { cardNo: e.cardNo, cardType: 1 } : {}),
      ...(e.cardReaderNo !== undefined ? { cardReaderKind: 1, cardReaderNo: e.cardReaderNo } : {}),
      ...(e.doorNo !== undefined ? { doorNo: e.doorNo } : {}),
      serialNo: e.serialNo,
      ...(e.verifyMode ? { currentVerifyMode: e.verifyMode } : {}),
      type: 0,
      mask: 'unknown',
    };
  }
}
