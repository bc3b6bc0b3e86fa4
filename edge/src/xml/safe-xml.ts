import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Largest XML document accepted from a device (an ONVIF or ISAPI answer is a few KiB). */
export const MAX_XML_BYTES = 1024 * 1024;

export class XmlError extends Error {
  constructor(
    /** short machine-readable reason, the label of the rejection metric */
    readonly reason: 'too_large' | 'doctype' | 'malformed',
    message: string,
  ) {
    super(message);
    this.name = 'XmlError';
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Namespace prefixes differ between vendors (tds:, tt:, s:, SOAP-ENV:): match on local names.
  removeNSPrefix: true,
  // Entities are never expanded: no billion laughs, no external entity ever read.
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  trimValues: true,
});

/**
 * Parses XML from a device (ONVIF, Hikvision ISAPI) defensively: size-capped, and any document type
 * declaration refused outright. Neither protocol uses one, and a DOCTYPE is exactly where external
 * entities (XXE) and entity expansion bombs (billion laughs) live. Errors name what was wrong.
 */
export function parseDeviceXml(text: string, what: string): Record<string, unknown> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_XML_BYTES) throw new XmlError('too_large', `${what}: ${bytes} bytes of XML exceeds the limit of ${MAX_XML_BYTES}`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlError('doctype', `${what}: XML with a document type declaration is refused (external entities, entity expansion)`);
  let valid: ReturnType<typeof XMLValidator.validate>;
  try {
    valid = XMLValidator.validate(text);
    if (valid === true) return parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // The validator passes a few broken documents the parser then throws on (an unclosed CDATA).
    throw new XmlError('malformed', `${what}: malformed XML: ${(err as Error).message}`);
  }
  throw new XmlError('malformed', `${what}: malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
}
