/** ISAPI answers the simulated panel writes, shaped like those of Hikvision firmware. */

export const ISAPI_NAMESPACE = 'http://www.isapi.org/ver20/XMLSchema';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * statusCode as the ISAPI documents it: 1 OK, 2 Device Busy, 3 Device Error, 4 Invalid Operation,
 * 5 Invalid XML Format, 6 Invalid XML Content, 7 Reboot Required.
 */
export interface IsapiStatus {
  statusCode: 1 | 2 | 3 | 4 | 5 | 6 | 7;
  statusString: string;
  subStatusCode: string;
  errorMsg?: string;
}

export const ISAPI_STATUS = {
  ok: { statusCode: 1, statusString: 'OK', subStatusCode: 'ok' },
  unauthorized: { statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'unAuthorized' },
  notSupported: { statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'notSupport' },
  badXmlFormat: { statusCode: 5, statusString: 'Invalid XML Format', subStatusCode: 'badXmlFormat' },
  badJsonFormat: { statusCode: 5, statusString: 'Invalid Format', subStatusCode: 'badJsonFormat' },
  badParameters: { statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'badParameters' },
  badXmlContent: { statusCode: 6, statusString: 'Invalid XML Content', subStatusCode: 'badXmlContent' },
} as const satisfies Record<string, IsapiStatus>;

export function responseStatusXml(requestURL: string, status: IsapiStatus): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" xmlns="${ISAPI_NAMESPACE}">\n` +
    `<requestURL>${escapeXml(requestURL)}</requestURL>\n<statusCode>${status.statusCode}</statusCode>\n` +
    `<statusString>${escapeXml(status.statusString)}</statusString>\n<subStatusCode>${escapeXml(status.subStatusCode)}</subStatusCode>\n` +
    (status.errorMsg ? `<errorMsg>${escapeXml(status.errorMsg)}</errorMsg>\n` : '') +
    `</ResponseStatus>\n`
  );
}

/** The JSON flavour newer firmware answers to `?format=json` requests. */
export function responseStatusJson(requestURL: string, status: IsapiStatus): string {
  return JSON.stringify({ requestURL, statusCode: status.statusCode, statusString: status.statusString, subStatusCode: status.subStatusCode, ...(status.errorMsg ? { errorMsg: status.errorMsg } : {}) });
}

/** The namespace older firmware and many access controllers write on their event notifications. */
export const HIKVISION_NAMESPACE = 'http://www.hikvision.com/ver20/XMLSchema';

type AlertValue = string | number | boolean | { [name: string]: AlertValue };

/**
 * An EventNotificationAlert as XML, from the same fields the JSON form carries: panels that send XML
 * write one element per JSON member, nested objects as nested elements, numbers in decimal.
 */
export function eventNotificationAlertXml(alert: Record<string, AlertValue>, namespace = HIKVISION_NAMESPACE): string {
  const elements = (fields: Record<string, AlertValue>, indent: string): string =>
    Object.entries(fields)
      .map(([name, value]) =>
        typeof value === 'object' ? `${indent}<${name}>\n${elements(value, `${indent}  `)}${indent}</${name}>\n` : `${indent}<${name}>${escapeXml(String(value))}</${name}>\n`,
      )
      .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="${namespace}">\n${elements(alert, '')}</EventNotificationAlert>\n`;
}

export interface DeviceIdentity {
  deviceName: string;
  deviceID: string;
  model: string;
  serialNumber: string;
  macAddress: string;
  firmwareVersion: string;
  firmwareReleasedDate: string;
}

export function deviceInfoXml(d: DeviceIdentity): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" xmlns="${ISAPI_NAMESPACE}">\n` +
    `<deviceName>${escapeXml(d.deviceName)}</deviceName>\n<deviceID>${escapeXml(d.deviceID)}</deviceID>\n<model>${escapeXml(d.model)}</model>\n` +
    `<serialNumber>${escapeXml(d.serialNumber)}</serialNumber>\n<macAddress>${escapeXml(d.macAddress)}</macAddress>\n` +
    `<firmwareVersion>${escapeXml(d.firmwareVersion)}</firmwareVersion>\n<firmwareReleasedDate>${escapeXml(d.firmwareReleasedDate)}</firmwareReleasedDate>\n` +
    `<deviceType>ACS</deviceType>\n</DeviceInfo>\n`
  );
}

/** Panel-local time with its offset, second resolution, as the firmware writes it: 2026-11-26T10:00:00+08:00. */
export function panelTime(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
