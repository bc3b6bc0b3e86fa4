import jpeg from 'jpeg-js';
import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from './bitmap-font.js';

export interface FrameSize {
  width: number;
  height: number;
}

const SCALE = 2;
const QUALITY = 75;

/**
 * The camera's still image: a plain scene with the camera's name and its clock burnt in, encoded as a
 * baseline JPEG. The text only changes once a second, so the encoded frame is kept until it does: a
 * snapshot on a guard's alarm path costs a lookup, not an encode.
 */
export class SnapshotRenderer {
  private cachedKey = '';
  private cachedJpeg: Buffer = Buffer.alloc(0);
  private readonly background: Buffer;

  constructor(private readonly size: FrameSize = { width: 320, height: 240 }) {
    this.background = paintBackground(size);
  }

  render(name: string, clockText: string): Buffer {
    const key = `${name}\n${clockText}`;
    if (key === this.cachedKey) return this.cachedJpeg;
    const pixels = Buffer.from(this.background);
    drawText(pixels, this.size, name, 8, 8);
    drawText(pixels, this.size, clockText, 8, this.size.height - 8 - GLYPH_HEIGHT * SCALE);
    this.cachedJpeg = jpeg.encode({ width: this.size.width, height: this.size.height, data: pixels }, QUALITY).data;
    this.cachedKey = key;
    return this.cachedJpeg;
  }
}

function paintBackground({ width, height }: FrameSize): Buffer {
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      // A floor and a wall, so the image is not a flat colour a broken decoder could fake.
      const floor = y > height * 0.6;
      pixels[i] = floor ? 90 : 60 + Math.round((x / width) * 60);
      pixels[i + 1] = floor ? 80 : 70 + Math.round((y / height) * 60);
      pixels[i + 2] = floor ? 70 : 110;
      pixels[i + 3] = 255;
    }
  }
  return pixels;
}

function drawText(pixels: Buffer, { width, height }: FrameSize, text: string, left: number, top: number): void {
  let x0 = left;
  for (const ch of text) {
    const rows = glyph(ch);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (!((rows[row]! >> (GLYPH_WIDTH - 1 - col)) & 1)) continue;
        for (let dy = 0; dy < SCALE; dy++) {
          for (let dx = 0; dx < SCALE; dx++) {
            const x = x0 + col * SCALE + dx;
            const y = top + row * SCALE + dy;
            if (x >= width || y >= height) continue;
            const i = (y * width + x) * 4;
            pixels[i] = 255;
            pixels[i + 1] = 255;
            pixels[i + 2] = 255;
          }
        }
      }
    }
    x0 += (GLYPH_WIDTH + 1) * SCALE;
  }
}
