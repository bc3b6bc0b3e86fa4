import { parseDeviceXml, XmlError } from '../../xml/safe-xml.js';

const NAMESPACES =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" ' +
  'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" ' +
  'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" ' +
  'xmlns:wsa="http://www.w3.org/2005/08/addressing"';

export function buildEnvelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NAMESPACES}>${header ? `<s:Header>${header}</s:Header>` : ''}<s:Body>${body}</s:Body></s:Envelope>`;
}

/** The camera answered with a SOAP fault. */
export class OnvifFaultError extends Error {
  constructor(
    readonly operation: string,
    /** e.g. env:Sender */
    readonly code: string,
    /** e.g. ['ter:NotAuthorized'] */
    readonly subcodes: string[],
    readonly reason: string,
  ) {
    super(`ONVIF ${operation}: the camera answered with a fault: ${[code, ...subcodes].filter(Boolean).join(' / ')}${reason ? ` (${reason})` : ''}`);
    this.name = 'OnvifFaultError';
  }

  get notAuthorized(): boolean {
    return this.subcodes.some((s) => /NotAuthorized$/i.test(s)) || /not ?authori[sz]ed/i.test(this.reason);
  }
}

/** The camera's answer could not be used: not XML, hostile XML, not SOAP, or not the expected answer. */
export class OnvifProtocolError extends Error {
  constructor(
    /** metric label: malformed, doctype, too_large, not_soap, unexpected, not_jpeg, foreign_host */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'OnvifProtocolError';
  }
}

export type XmlNode = Record<string, unknown>;

/** Elements that may occur once or many times come out of the parser as a value or an array. */
export function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function node(value: unknown): XmlNode | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first !== null && typeof first === 'object' ? (first as XmlNode) : undefined;
}

/** Text content of an element, whether it has attributes (#text) or not. */
export function text(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (typeof first === 'number' || typeof first === 'boolean') return String(first);
  if (first && typeof first === 'object') {
    const inner = (first as XmlNode)['#text'];
    if (typeof inner === 'string' || typeof inner === 'number') return String(inner);
    if (Object.keys(first).every((k) => k.startsWith('@'))) return '';
  }
  return undefined;
}

export function attr(value: unknown, name: string): string | undefined {
  const n = node(value);
  const v = n?.[`@${name}`];
  return typeof v === 'string' ? v : undefined;
}

/** Follows a chain of element names; undefined as soon as one is missing. */
export function path(value: unknown, ...names: string[]): unknown {
  let current = value;
  for (const name of names) {
    const n = node(current);
    if (!n) return undefined;
    current = n[name];
  }
  return current;
}

/**
 * Decodes a camera's SOAP answer to `operation`: the element in its Body, or an OnvifFaultError for a
 * SOAP 1.2 (or 1.1) fault, or an OnvifProtocolError naming what was wrong with the document.
 */
export function decodeSoapAnswer(xml: string, operation: string): XmlNode {
  let document: XmlNode;
  try {
    document = parseDeviceXml(xml, `ONVIF ${operation} answer`);
  } catch (err) {
    if (err instanceof XmlError) throw new OnvifProtocolError(err.reason, err.message);
    throw err;
  }
  const body = node(path(document, 'Envelope', 'Body'));
  if (!body) throw new OnvifProtocolError('not_soap', `ONVIF ${operation} answer: not a SOAP envelope with a Body`);
  const fault = body.Fault;
  if (fault !== undefined) throw decodeFault(operation, fault);
  const answerName = `${operation}Response`;
  const answer = body[answerName];
  if (answer === undefined) {
    const found = Object.keys(body).filter((k) => !k.startsWith('@') && k !== '#text');
    throw new OnvifProtocolError('unexpected', `ONVIF ${operation} answer: expected ${answerName} in the Body, found ${found.length ? found.join(', ') : 'nothing'}`);
  }
  return node(answer) ?? {};
}

function decodeFault(operation: string, fault: unknown): OnvifFaultError {
  const subcodes: string[] = [];
  let subcode = path(fault, 'Code', 'Subcode');
  for (let depth = 0; subcode !== undefined && depth < 8; depth++) {
    const value = text(path(subcode, 'Value'));
    if (value) subcodes.push(value);
    subcode = path(subcode, 'Subcode');
  }
  const code = text(path(fault, 'Code', 'Value')) ?? text(path(fault, 'faultcode')) ?? '';
  const reason = text(path(fault, 'Reason', 'Text')) ?? text(path(fault, 'faultstring')) ?? '';
  return new OnvifFaultError(operation, code.slice(0, 128), subcodes.map((s) => s.slice(0, 128)), reason.slice(0, 512));
}
