/** The image types an order's photos may have, recognised by their first bytes, never by a name or header. */
export type PhotoType = 'image/jpeg' | 'image/png' | 'image/webp';

/** The type of an image from its bytes, or undefined for anything else (HTML, SVG, PDF, …). */
export function sniffPhoto(data: Uint8Array): PhotoType | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => data[i] === b)) return 'image/png';
  if (data.length >= 12 && ascii(data, 0, 4) === 'RIFF' && ascii(data, 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

function ascii(data: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...data.subarray(from, to));
}

/** What the first bytes look like, for the refusal: "HTML", "a PDF", or their hex. */
export function describeBytes(data: Uint8Array): string {
  const head = Buffer.from(data.subarray(0, 64)).toString('latin1').trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || head.startsWith('<script')) return 'HTML';
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG';
  if (head.startsWith('%pdf')) return 'a PDF';
  if (head.startsWith('gif8')) return 'a GIF';
  return `bytes ${Buffer.from(data.subarray(0, 8)).toString('hex')}`;
}
