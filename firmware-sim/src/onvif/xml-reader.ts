/**
 * The camera's own small XML reader: enough of XML to read SOAP requests and WS-Discovery probes
 * (elements, attributes, text, CDATA, comments). It is deliberately independent of the gateway's
 * parser, so a bug in one is not hidden by the same bug in the other. Document type declarations are
 * refused, as real cameras do, and entities other than the five predefined ones are never expanded.
 */
export interface XmlElement {
  /** qualified name as written, e.g. tds:GetProfiles */
  name: string;
  /** name without its namespace prefix */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlReadError extends Error {
  override name = 'XmlReadError';
}

const TOKEN = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\?[\s\S]*?\?>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/y;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const MAX_DEPTH = 64;

function decodeEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    switch (entity) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const code = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return code <= 0x10ffff ? String.fromCodePoint(code) : '';
      }
    }
  });
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

export function readXml(text: string): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlReadError('document type declarations are not accepted');
  const root: XmlElement = { name: '#document', local: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new XmlReadError(`unexpected markup at offset ${at}`);
    const top = stack[stack.length - 1]!;
    const [token, cdata, closing, tag, rawAttrs, selfClosing, chars] = m;
    if (chars !== undefined) {
      if (stack.length === 1 && chars.trim()) throw new XmlReadError(`text outside the root element at offset ${at}`);
      top.text += decodeEntities(chars);
    } else if (cdata !== undefined) {
      top.text += cdata;
    } else if (tag !== undefined) {
      if (closing) {
        if (top.name !== tag || selfClosing) throw new XmlReadError(`</${tag}> does not close <${top.name}> (offset ${at})`);
        top.text = top.text.trim();
        stack.pop();
      } else {
        if (stack.length === 1 && root.children.length > 0) throw new XmlReadError(`second root element <${tag}> at offset ${at}`);
        if (stack.length > MAX_DEPTH) throw new XmlReadError(`elements nested deeper than ${MAX_DEPTH}`);
        const attrs: Record<string, string> = {};
        for (const a of (rawAttrs ?? '').matchAll(ATTRIBUTE)) attrs[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '');
        const element: XmlElement = { name: tag, local: localName(tag), attrs, children: [], text: '' };
        top.children.push(element);
        if (!selfClosing) stack.push(element);
      }
    } else if (token.startsWith('<!--') || token.startsWith('<?')) {
      continue;
    }
  }
  if (stack.length > 1) throw new XmlReadError(`<${stack[stack.length - 1]!.name}> is never closed`);
  const document = root.children[0];
  if (!document) throw new XmlReadError('no root element');
  return document;
}

/** The first descendant (depth first) with this local name. */
export function find(element: XmlElement | undefined, local: string): XmlElement | undefined {
  if (!element) return undefined;
  for (const child of element.children) {
    if (child.local === local) return child;
    const deeper = find(child, local);
    if (deeper) return deeper;
  }
  return undefined;
}

/** The text of the element reached through this chain of local names, or undefined. */
export function textAt(element: XmlElement | undefined, ...path: string[]): string | undefined {
  let current = element;
  for (const local of path) current = find(current, local);
  return current?.text;
}
