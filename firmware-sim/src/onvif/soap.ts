/** SOAP 1.2 envelopes and faults, as ONVIF cameras write them. */
export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  tns1: 'http://www.onvif.org/ver10/topics',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

const DECLARATIONS = Object.entries(NS)
  .map(([prefix, uri]) => `xmlns:${prefix}="${uri}"`)
  .join(' ');

export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope ${DECLARATIONS}>${header ? `<s:Header>${header}</s:Header>` : ''}<s:Body>${body}</s:Body></s:Envelope>`;
}

export interface SoapFault {
  /** HTTP status: 400 for the sender's faults (ONVIF Core 5.9.1 puts NotAuthorized there too), 500 for the receiver's */
  status: number;
  code: 's:Sender' | 's:Receiver';
  subcodes: string[];
  reason: string;
}

export function faultEnvelope(fault: SoapFault): string {
  const subcodes = fault.subcodes.reduceRight((inner, value) => `<s:Subcode><s:Value>${value}</s:Value>${inner}</s:Subcode>`, '');
  return envelope(
    `<s:Fault><s:Code><s:Value>${fault.code}</s:Value>${subcodes}</s:Code><s:Reason><s:Text xml:lang="en">${escapeXml(fault.reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

export const FAULTS = {
  notAuthorized: (why: string): SoapFault => ({ status: 400, code: 's:Sender', subcodes: ['ter:NotAuthorized'], reason: `Sender not Authorized: ${why}` }),
  wellFormed: (why: string): SoapFault => ({ status: 400, code: 's:Sender', subcodes: ['ter:WellFormed'], reason: `Well-formed Error: ${why}` }),
  actionNotSupported: (action: string): SoapFault => ({ status: 400, code: 's:Sender', subcodes: ['ter:ActionNotSupported'], reason: `Optional Action Not Implemented: ${action}` }),
  invalidArg: (subcode: string, why: string): SoapFault => ({ status: 400, code: 's:Sender', subcodes: ['ter:InvalidArgVal', `ter:${subcode}`], reason: why }),
  noSubscription: (why: string): SoapFault => ({ status: 400, code: 's:Sender', subcodes: ['ter:InvalidArgVal', 'ter:NoSubscription'], reason: why }),
};
