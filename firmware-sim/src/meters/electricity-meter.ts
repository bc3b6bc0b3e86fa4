import { loadFactor, type LoadShapeName } from './load-shape.js';
import { gaussian, seededRandom } from './random.js';

export interface ElectricityMeterOptions {
  /** rated (peak) three-phase active power of the load behind the meter, kW */
  ratedKw: number;
  shape: LoadShapeName;
  timeZone: string;
  /** reading of the import energy register at start, kWh */
  initialImportKwh: number;
  seed: number;
  /** source of time; injectable so tests and accelerated demos control it */
  now?: () => number;
}

/** Instantaneous electrical state of a three-phase meter, in SI units (W, V, A) and kWh. */
export interface ElectricitySnapshot {
  voltage: [number, number, number];
  current: [number, number, number];
  activePower: [number, number, number];
  totalActivePower: number;
  powerFactor: number;
  frequency: number;
  importEnergyKwh: number;
  exportEnergyKwh: number;
}

const NOMINAL_VOLTAGE = 230;
const NOMINAL_FREQUENCY = 50;

/**
 * A three-phase energy meter on a building feeder. Power follows the load shape with noise; the energy
 * register integrates power over real elapsed time (trapezoidal rule), so consumption and the counter
 * agree the way they do on a real meter.
 */
export class SimulatedElectricityMeter {
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly phaseShare: [number, number, number];
  private readonly basePowerFactor: number;
  private lastTs: number;
  private lastPowerW: number;
  private importKwh: number;

  constructor(private readonly options: ElectricityMeterOptions) {
    this.random = seededRandom(options.seed);
    this.now = options.now ?? Date.now;
    // Real feeders are never perfectly balanced; each meter gets its own fixed imbalance.
    const a = 1 + 0.08 * (this.random() - 0.5);
    const b = 1 + 0.08 * (this.random() - 0.5);
    const c = 3 - a - b;
    this.phaseShare = [a / 3, b / 3, c / 3];
    this.basePowerFactor = 0.9 + 0.06 * this.random();
    this.lastTs = this.now();
    this.lastPowerW = this.powerAt(this.lastTs);
    this.importKwh = options.initialImportKwh;
  }

  private powerAt(ts: number): number {
    const factor = loadFactor(this.options.shape, ts, this.options.timeZone);
    const noisy = factor * (1 + 0.03 * gaussian(this.random));
    return Math.max(0, noisy * this.options.ratedKw * 1000);
  }

  /** Moves the meter to the current time, integrating energy since the last step. */
  advance(): void {
    const ts = this.now();
    if (ts <= this.lastTs) return;
    const powerW = this.powerAt(ts);
    const hours = (ts - this.lastTs) / 3_600_000;
    this.importKwh += (((this.lastPowerW + powerW) / 2) * hours) / 1000;
    this.lastTs = ts;
    this.lastPowerW = powerW;
  }

  get importEnergyKwh(): number {
    return this.importKwh;
  }

  get counterValue(): number {
    return this.importKwh;
  }

  /** The meter was replaced: its energy registers start again from zero. */
  resetCounter(): void {
    this.advance();
    this.importKwh = 0;
  }

  snapshot(): ElectricitySnapshot {
    this.advance();
    const powerFactor = Math.min(0.999, this.basePowerFactor + 0.01 * gaussian(this.random));
    const voltage = this.phaseShare.map(() => NOMINAL_VOLTAGE + 2 * gaussian(this.random)) as [number, number, number];
    const activePower = this.phaseShare.map((share) => share * this.lastPowerW) as [number, number, number];
    const current = activePower.map((p, i) => p / ((voltage[i] ?? NOMINAL_VOLTAGE) * powerFactor)) as [number, number, number];
    return {
      voltage,
      current,
      activePower,
      totalActivePower: this.lastPowerW,
      powerFactor,
      frequency: NOMINAL_FREQUENCY + 0.02 * gaussian(this.random),
      importEnergyKwh: this.importKwh,
      exportEnergyKwh: 0,
    };
  }
}
