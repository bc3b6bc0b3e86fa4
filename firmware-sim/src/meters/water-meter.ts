import { loadFactor, type LoadShapeName } from './load-shape.js';
import { gaussian, seededRandom } from './random.js';

export interface WaterMeterOptions {
  /** flow at full demand, m³/h */
  ratedM3h: number;
  shape: LoadShapeName;
  timeZone: string;
  initialM3: number;
  seed: number;
  now?: () => number;
}

export interface WaterSnapshot {
  flowM3h: number;
  volumeM3: number;
  velocityMs: number;
}

/** A water meter on a supply main: flow follows demand, the volume register integrates flow. */
export class SimulatedWaterMeter {
  private readonly random: () => number;
  private readonly now: () => number;
  private lastTs: number;
  private lastFlow: number;
  private volume: number;

  constructor(private readonly options: WaterMeterOptions) {
    this.random = seededRandom(options.seed);
    this.now = options.now ?? Date.now;
    this.lastTs = this.now();
    this.lastFlow = this.flowAt(this.lastTs);
    this.volume = options.initialM3;
  }

  private flowAt(ts: number): number {
    const factor = loadFactor(this.options.shape, ts, this.options.timeZone);
    return Math.max(0, factor * this.options.ratedM3h * (1 + 0.05 * gaussian(this.random)));
  }

  advance(): void {
    const ts = this.now();
    if (ts <= this.lastTs) return;
    const flow = this.flowAt(ts);
    this.volume += ((this.lastFlow + flow) / 2) * ((ts - this.lastTs) / 3_600_000);
    this.lastTs = ts;
    this.lastFlow = flow;
  }

  get counterValue(): number {
    return this.volume;
  }

  /** The meter was replaced: its register starts again from zero. */
  resetCounter(): void {
    this.advance();
    this.volume = 0;
  }

  snapshot(): WaterSnapshot {
    this.advance();
    // DN100 main: velocity = flow / area.
    const areaM2 = Math.PI * 0.05 ** 2;
    return { flowM3h: this.lastFlow, volumeM3: this.volume, velocityMs: this.lastFlow / 3600 / areaM2 };
  }
}
