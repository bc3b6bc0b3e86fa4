declare module 'jpeg-js' {
  export interface RawImage {
    width: number;
    height: number;
    data: Buffer | Uint8Array;
  }
  export function encode(image: RawImage, quality?: number): { width: number; height: number; data: Buffer };
  export function decode(data: Buffer | Uint8Array, options?: { useTArray?: boolean; formatAsRGBA?: boolean }): RawImage;
  const jpeg: { encode: typeof encode; decode: typeof decode };
  export default jpeg;
}
