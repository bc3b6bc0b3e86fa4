import { z } from 'zod';
import type { MultipartPart } from '../../http/multipart-reader.js';
import { parseDeviceXml, XmlError } from '../../xml/safe-xml.js';

/** One access-control log record, whether it came live on the alert stream or from an AcsEvent search. */
export interface AcsRecord {
  serialNo: number;
  major: number;
  minor: number;
  /** the panel's local time with its offset, as it wrote it */
  time: string | undefined;
  cardNo?: string;
  doorNo?: number;
  cardReaderNo?: number;
  verifyMode?: string;
}

export class IsapiDecodeError extends Error {
  constructor(
    /** short machine-readable reason, the label of the protocol-error metric */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'IsapiDecodeError';
  }
}

export type AlertPart =
  | { kind: 'access'; record: AcsRecord }
  /** the keepalive panels send on an idle stream (videoloss, inactive) */
  | { kind: 'heartbeat' }
  /** an event of another kind (a camera's motion on a video intercom, …) */
  | { kind: 'other'; eventType: string }
  /** a picture attached to the previous event */
  | { kind: 'picture' };

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const optionalCount = count.optional();
const optionalText = z.string().max(256).optional();

const accessControllerEventSchema = z.object({
  majorEventType: count,
  subEventType: count,
  serialNo: count,
  cardNo: optionalText,
  doorNo: optionalCount,
  cardReaderNo: optionalCount,
  currentVerifyMode: optionalText,
});

/**
 * The same event as XML (older firmware, many controllers): every value arrives as element text, so
 * the counts are read from decimal digits and nothing else (no sign, no hex, no exponent) before the
 * same limits as in JSON apply. A repeated element or one with attributes is no text and is refused.
 */
const xmlCount = z.string().regex(/^[0-9]+$/, 'not a decimal number').transform(Number).pipe(count);
const accessControllerEventXmlSchema = accessControllerEventSchema.extend({
  majorEventType: xmlCount,
  subEventType: xmlCount,
  serialNo: xmlCount,
  doorNo: xmlCount.optional(),
  cardReaderNo: xmlCount.optional(),
});

const alertJsonSchema = z.object({
  eventType: z.string().max(128),
  eventState: optionalText,
  dateTime: optionalText,
  AccessControllerEvent: z.unknown().optional(),
});

const infoItemSchema = z.object({
  major: count,
  minor: count,
  time: optionalText,
  serialNo: count,
  cardNo: optionalText,
  doorNo: optionalCount,
  cardReaderNo: optionalCount,
  currentVerifyMode: optionalText,
});

const acsEventAnswerSchema = z.object({
  AcsEvent: z.object({
    searchID: z.string().max(128).optional(),
    responseStatusStrg: z.enum(['OK', 'MORE', 'NO MATCH']),
    numOfMatches: count,
    totalMatches: count,
    InfoList: z.array(z.unknown()).max(1000).optional(),
  }),
});

export interface AcsEventPage {
  status: 'OK' | 'MORE' | 'NO MATCH';
  numOfMatches: number;
  totalMatches: number;
  records: AcsRecord[];
  /** items of the page that could not be read, with why */
  refused: string[];
}

const issues = (err: z.ZodError) =>
  err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');

/** Decodes one part of the alert stream. Throws IsapiDecodeError naming what was wrong. */
export function decodeAlertPart(part: MultipartPart): AlertPart {
  const contentType = (part.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('image/')) return { kind: 'picture' };
  const text = part.body.toString('utf8');
  if (contentType.includes('xml') || (!contentType.includes('json') && text.trimStart().startsWith('<'))) return decodeAlert(xmlAlert(text), 'xml');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new IsapiDecodeError('bad_json', `alert stream part is not valid JSON: ${(err as Error).message}`);
  }
  return decodeAlert(json, 'json');
}

/** The EventNotificationAlert element of an XML part, parsed without DOCTYPE or entities. */
function xmlAlert(text: string): unknown {
  let doc: Record<string, unknown>;
  try {
    // A stray line break before the XML declaration would otherwise make a well-formed alert invalid XML.
    doc = parseDeviceXml(text.trimStart(), 'alert stream part');
  } catch (err) {
    if (err instanceof XmlError) throw new IsapiDecodeError(`xml_${err.reason}`, err.message);
    throw err;
  }
  const alert = doc.EventNotificationAlert;
  if (typeof alert !== 'object' || alert === null || Array.isArray(alert)) throw new IsapiDecodeError('bad_event', 'alert stream XML part is not one EventNotificationAlert');
  return alert;
}

/**
 * One alert, whichever form it came in: both forms carry the same fields under the same names, so
 * they go through the same checks and give the same record (serial number, time, card, door), and
 * everything after this (dedupe, catch-up, masking) cannot tell them apart.
 */
function decodeAlert(value: unknown, form: 'json' | 'xml'): AlertPart {
  const alert = alertJsonSchema.safeParse(value);
  if (!alert.success) throw new IsapiDecodeError('bad_event', `alert stream event not understood: ${issues(alert.error)}`);
  if (alert.data.eventType === 'videoloss' && alert.data.eventState === 'inactive') return { kind: 'heartbeat' };
  if (alert.data.eventType !== 'AccessControllerEvent') return { kind: 'other', eventType: alert.data.eventType };
  const schema = form === 'xml' ? accessControllerEventXmlSchema : accessControllerEventSchema;
  const ace = schema.safeParse(alert.data.AccessControllerEvent);
  if (!ace.success) throw new IsapiDecodeError('bad_event', `AccessControllerEvent${form === 'xml' ? ' (XML)' : ''} not understood: ${issues(ace.error)}`);
  const e = ace.data;
  return {
    kind: 'access',
    record: withOptional(
      { serialNo: e.serialNo, major: e.majorEventType, minor: e.subEventType, time: alert.data.dateTime },
      { cardNo: e.cardNo, doorNo: e.doorNo, cardReaderNo: e.cardReaderNo, verifyMode: e.currentVerifyMode },
    ),
  };
}

/** Decodes the answer to an AcsEvent search. Throws IsapiDecodeError when the answer itself is not one. */
export function decodeAcsEventPage(json: unknown): AcsEventPage {
  const answer = acsEventAnswerSchema.safeParse(json);
  if (!answer.success) throw new IsapiDecodeError('bad_search_answer', `AcsEvent answer not understood: ${issues(answer.error)}`);
  const a = answer.data.AcsEvent;
  const records: AcsRecord[] = [];
  const refused: string[] = [];
  for (const item of a.InfoList ?? []) {
    const parsed = infoItemSchema.safeParse(item);
    if (!parsed.success) {
      refused.push(issues(parsed.error));
      continue;
    }
    const e = parsed.data;
    records.push(withOptional({ serialNo: e.serialNo, major: e.major, minor: e.minor, time: e.time }, { cardNo: e.cardNo, doorNo: e.doorNo, cardReaderNo: e.cardReaderNo, verifyMode: e.currentVerifyMode }));
  }
  return { status: a.responseStatusStrg, numOfMatches: a.numOfMatches, totalMatches: a.totalMatches, records, refused };
}

function withOptional(base: AcsRecord, extra: Omit<AcsRecord, 'serialNo' | 'major' | 'minor' | 'time'>): AcsRecord {
  const out: AcsRecord = { ...base };
  if (extra.cardNo !== undefined && extra.cardNo !== '') out.cardNo = extra.cardNo;
  if (extra.doorNo !== undefined) out.doorNo = extra.doorNo;
  if (extra.cardReaderNo !== undefined) out.cardReaderNo = extra.cardReaderNo;
  if (extra.verifyMode !== undefined) out.verifyMode = extra.verifyMode;
  return out;
}
