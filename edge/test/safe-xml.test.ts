import { describe, expect, it } from 'vitest';
import { parseDeviceXml, XmlError } from '@gatehouse/edge';

describe('device XML', () => {
  it('parses an ONVIF answer, whatever the namespace prefixes', () => {
    const doc = parseDeviceXml(
      '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body><tds:GetDeviceInformationResponse><tds:Manufacturer>Gatehouse</tds:Manufacturer><tds:SerialNumber>0042</tds:SerialNumber></tds:GetDeviceInformationResponse></s:Body></s:Envelope>',
      'GetDeviceInformation',
    );
    expect(doc).toMatchObject({ Envelope: { Body: { GetDeviceInformationResponse: { Manufacturer: 'Gatehouse', SerialNumber: '0042' } } } });
  });

  it('refuses an external entity (XXE) and an entity bomb (billion laughs) before parsing, quickly', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    expect(() => parseDeviceXml(xxe, 'alertStream part')).toThrow(new XmlError('doctype', 'alertStream part: XML with a document type declaration is refused (external entities, entity expansion)'));
    const laughs = ['<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`), ']><lolz>&lol9;</lolz>'].join('');
    const started = performance.now();
    expect(() => parseDeviceXml(laughs, 'AcsEvent')).toThrow(XmlError);
    expect(performance.now() - started).toBeLessThan(100);
    // An entity reference without a DOCTYPE stays text: nothing is expanded.
    expect(parseDeviceXml('<r>&amp;&x;</r>', 'r')).toEqual({ r: '&amp;&x;' });
  });

  it('names malformed XML and an oversized document', () => {
    expect(() => parseDeviceXml('<a><b></a>', 'GetProfiles')).toThrow(/^GetProfiles: malformed XML at line 1, column \d+: /);
    expect(() => parseDeviceXml(`<a>${'x'.repeat(1024 * 1024)}</a>`, 'snapshot')).toThrow(new XmlError('too_large', 'snapshot: 1048583 bytes of XML exceeds the limit of 1048576'));
  });

  it('survives 100,000 generated inputs: each parsed or refused with an XmlError, none crashing or hanging', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['<', '>', '</', '/>', 'a', 'b', ' x="1"', '&', ';', '<!--', '-->', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '"', "'", '=', '<!DOCTYPE', '\u0000', 'é'];
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const text = Array.from({ length: Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]!).join('');
      try {
        parseDeviceXml(text, 'fuzz');
      } catch (err) {
        expect(err).toBeInstanceOf(XmlError);
      }
    }
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
