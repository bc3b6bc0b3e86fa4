import { buildEnvelope, decodeSoapAnswer, OnvifFaultError, OnvifProtocolError, path, text, type XmlNode } from './soap-envelope.js';
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
const MAX_ANSWER_BYTES = 1024 * 1024 + 1;

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
    const signals = [AbortSignal.timeout(timeoutMs), ...(call.signal ? [call.signal] : [])];
    let response: Response;
    let answer: string;
    try {
      response = await fetch(call.url, {
        method: 'POST',
        headers: { 'content-type': `application/soap+xml; charset=utf-8; action="${call.operation}"` },
        body: envelope,
        signal: AbortSignal.any(signals),
      });
      answer = await readLimited(response, MAX_ANSWER_BYTES);
    } catch (err) {
      const e = err as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.name === 'AbortError' ? 'aborted' : `${e.message}${(e.cause as Error | undefined)?.message ? `: ${(e.cause as Error).message}` : ''}`;
      throw new OnvifTransportError(`ONVIF ${call.operation} to ${call.url}: ${why}`);
    }
    if (response.status === 401) throw new OnvifFaultError(call.operation, 'HTTP 401', ['NotAuthorized'], 'the camera asks for HTTP authentication');
    return decodeSoapAnswer(answer, call.operation);
  }
}

/** No answer: connection refused or cut, timeout. */
export class OnvifTransportError extends Error {
  override name = 'OnvifTransportError';
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    chunks.push(value);
    if (size >= limit) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
