import { pointSpan, type ProfilePoint, type RegisterFunction } from './profile.js';

/** Modbus limits for one read: 125 holding or input registers (FC03/FC04), 2000 coils or discrete inputs (FC01/FC02). */
export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;

export interface PlannedRead {
  function: RegisterFunction;
  address: number;
  length: number;
  points: ProfilePoint[];
}

export interface ReadPlanOptions {
  /** unwanted registers (or bits) a read may bridge to avoid a second request */
  maxGap: number;
  maxRegisters?: number;
  maxBits?: number;
}

/**
 * Merges the wanted points into as few reads as possible: points of one function, sorted by address,
 * share a read while the gap between them is at most `maxGap` registers and the read stays within the
 * protocol limit.
 */
export function planReads(points: readonly ProfilePoint[], options: ReadPlanOptions): PlannedRead[] {
  const plan: PlannedRead[] = [];
  const byFunction = new Map<RegisterFunction, ProfilePoint[]>();
  for (const p of points) byFunction.set(p.function, [...(byFunction.get(p.function) ?? []), p]);

  for (const [fn, fnPoints] of byFunction) {
    const isBits = fn === 'coil' || fn === 'discrete';
    const maxLength = isBits ? (options.maxBits ?? MAX_BITS_PER_READ) : (options.maxRegisters ?? MAX_REGISTERS_PER_READ);
    // Bridging 16 registers costs 32 bytes; bridging 16 bits costs 2: bits may bridge gaps 16 times wider.
    const maxGap = isBits ? options.maxGap * 16 : options.maxGap;
    const sorted = [...fnPoints].sort((a, b) => pointSpan(a).start - pointSpan(b).start);
    let current: PlannedRead | undefined;
    for (const point of sorted) {
      const { start, end } = pointSpan(point);
      if (current) {
        const currentEnd = current.address + current.length;
        const gap = start - currentEnd;
        const mergedLength = Math.max(currentEnd, end) - current.address;
        if (gap <= maxGap && mergedLength <= maxLength) {
          current.length = mergedLength;
          current.points.push(point);
          continue;
        }
      }
      current = { function: fn, address: start, length: end - start, points: [point] };
      plan.push(current);
    }
  }
  return plan;
}
