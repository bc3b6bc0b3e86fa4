import { buildEnvelope, decodeSoapAnswer, OnvifFaultError, OnvifProtocolError, path, text, type XmlNode } from './soap-envelope.js';
import { readCappedBody } from '../../http/capped-body.js';
import { MAX_XML_BYTES } from '../../xml/safe-xml.js';
import { usernameTokenHeader } from './ws-security.js';

export interface OnvifSoapClientOptions {
  username: string;
  password: string;
  timeoutMs: number;
}

export interface SoapCall {
  /** the service address: device, media, event service or a subscription's address */
  url: string;
  /** the operation's name, e.g. GetProfiles: the answer must be its Response */
  operation: string;
  /** the Body content */
  body: string;
  /** extra header elements, e.g. WS-Addressing To for a subscription */
  header?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** without WS-Security (GetSystemDateAndTime, which a camera answers before it can check a token) */
  anonymous?: boolean;
}

/** Largest answer read from a camera; parseDeviceXml refuses anything bigger anyway. */
const MAX_ANSWER_BYTES = MAX_XML_BYTES;

/**
 * SOAP 1.2 over HTTP to one camera, authenticated with WS-Security UsernameToken digests whose Created
 * is the camera's clock, estimated from GetSystemDateAndTime. The offset is learnt again when the camera
 * says NotAuthorized, since a camera's clock can be reset (NTP, a reboot without RTC battery).
 */
export class OnvifSoapClient {
  /** camera clock minus ours, ms */
  clockOffsetMs = 0;
  private offsetLearnt = false;

  constructor(
    readonly deviceServiceUrl: string,
    private readonly options: OnvifSoapClientOptions,
  ) {}

  /** Reads the camera's clock (no authentication) and keeps the offset for the tokens. */
  async learnClockOffset(signal?: AbortSignal): Promise<number> {
    const sentAt = Date.now();
    const answer = await this.call({ url: this.deviceServiceUrl, operation: 'GetSystemDateAndTime', body: '<tds:GetSystemDateAndTime/>', anonymous: true, ...(signal ? { signal } : {}) });
    const receivedAt = Date.now();
    const utc = path(answer, 'SystemDateAndTime', 'UTCDateTime');
    const field = (...names: string[]) => Number(text(path(utc, ...names)));
    const cameraTime = Date.UTC(field('Date', 'Year'), field('Date', 'Month') - 1, field('Date', 'Day'), field('Time', 'Hour'), field('Time', 'Minute'), field('Time', 'Second'));
    if (!Number.isFinite(cameraTime)) throw new OnvifProtocolError('unexpected', 'ONVIF GetSystemDateAndTime answer: no usable UTCDateTime');
    // The camera read its clock somewhere between our send and receive: assume the middle.
    this.clockOffsetMs = cameraTime - Math.round((sentAt + receivedAt) / 2);
    this.offsetLearnt = true;
    return this.clockOffsetMs;
  }

  /** A call with authentication; on NotAuthorized the clock offset is learnt again and the call retried once. */
  async request(call: SoapCall): Promise<XmlNode> {
    if (!this.offsetLearnt) await this.learnClockOffset(call.signal);
    try {
      return await this.call(call);
    } catch (err) {
      if (!(err instanceof OnvifFaultError) || !err.notAuthorized) throw err;
      const before = this.clockOffsetMs;
      await this.learnClockOffset(call.signal);
      // Same clock, same refusal: the credentials are wrong, not the time.
      if (Math.abs(this.clockOffsetMs - before) < 2000) throw err;
      return this.call(call);
    }
  }

  private async call(call: SoapCall): Promise<XmlNode> {
    const header = (call.anonymous ? '' : usernameTokenHeader(this.options.username, this.options.password, Date.now() + this.clockOffsetMs)) + (call.header ?? '');
    const envelope = buildEnvelope(call.body, header);
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs;
    const url = withoutCredentials(call.url);
    // fetch would refuse it too, with a message quoting the URL whole, password included.
    if (url !== call.url) throw new OnvifTransportError(`ONVIF ${call.operation} to ${url}: an address carrying a user name or password is refused`);
    const request = abortableRequest(timeoutMs, call.signal);
    let response: Response;
    let answer: string;
    try {
      response = await fetch(call.url, {
        method: 'POST',
        headers: { 'content-type': `application/soap+xml; charset=utf-8; action="${call.operation}"` },
        body: envelope,
        signal: request.signal,
      });
      answer = (await readCappedBody(response.body, MAX_ANSWER_BYTES)).toString('utf8');
    } catch (err) {
      const e = err as Error;
      const why = request.timedOut ? `no answer within ${timeoutMs} ms` : request.signal.aborted ? 'aborted' : `${e.message}${(e.cause as Error | undefined)?.message ? `: ${(e.cause as Error).message}` : ''}`;
      throw new OnvifTransportError(`ONVIF ${call.operation} to ${url}: ${why}`);
    } finally {
      request.release();
    }
    if (response.status === 401) throw new OnvifFaultError(call.operation, 'HTTP 401', ['NotAuthorized'], 'the camera asks for HTTP authentication');
    return decodeSoapAnswer(answer, call.operation);
  }
}

/** The abort of one request: its own timeout, or its parent's abort (the driver stopping). */
export interface AbortableRequest {
  readonly signal: AbortSignal;
  /** whether it was the timeout that aborted it */
  readonly timedOut: boolean;
  /** aborts this request alone, e.g. when its answer is too large */
  abort(reason?: unknown): void;
  /** ends the timer and the parent's hold on this request: call it in finally */
  release(): void;
}

/**
 * A controller per request, linked to a long-lived parent by one listener removed when the request
 * ends. AbortSignal.any on every request would tie a new combined signal to the parent each time, and
 * Node can keep those alive as long as the parent lives (nodejs/node#55351): a driver pulls events
 * for months on one signal.
 */
export function abortableRequest(timeoutMs: number, parent?: AbortSignal): AbortableRequest {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    abort: (reason?: unknown) => controller.abort(reason),
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** The URL without user name and password, for messages and logs. */
export function withoutCredentials(address: string): string {
  if (!URL.canParse(address)) return address.replace(/\/\/[^/@\s]*@/, '//');
  const url = new URL(address);
  if (!url.username && !url.password) return address;
  url.username = '';
  url.password = '';
  return url.toString();
}

/** No answer: connection refused or cut, timeout. */
export class OnvifTransportError extends Error {
  override name = 'OnvifTransportError';
}

