import { FaultState, type FaultSpec } from '../faults.js';
import { EXCEPTION, type FrameDamage, type ModbusUnit, type ReadFunctionCode, type UnitAnswer } from '../modbus/modbus-unit.js';
import { encodeRegisters, servedValue, wordCount } from '../modbus/register-encoding.js';
import type { ElectricitySnapshot } from './electricity-meter.js';
import type { FirmwareRegister, MeterModel } from './models/meter-model.js';
import type { WaterSnapshot } from './water-meter.js';

/** One read a simulated device answered, with the values it put on the wire. */
export interface ServedRead {
  ts: number;
  /** the simulated device's id */
  device: string;
  unitId: number;
  functionCode: ReadFunctionCode;
  address: number;
  length: number;
  /** metric → the exact value a correct reader decodes, for every value wholly inside the requested range */
  values: Record<string, number>;
}

/** What a unit needs of the simulated physics behind it. */
export interface MeterPhysics<S> {
  snapshot(): S;
  resetCounter(): void;
  readonly counterValue: number;
}

type AnySnapshot = ElectricitySnapshot | WaterSnapshot;

/** A simulated meter as seen on the bus: its model's register map over its physics, plus faults. */
export class SimulatedMeterUnit implements ModbusUnit {
  readonly faults: FaultState;
  private frozen: AnySnapshot | undefined;
  /** reads received, answered or not */
  requests = 0;

  constructor(
    readonly id: string,
    readonly unitId: number,
    readonly model: MeterModel,
    readonly physics: MeterPhysics<AnySnapshot>,
    private readonly onServe: ((read: ServedRead) => void) | undefined,
    now: () => number = Date.now,
  ) {
    this.faults = new FaultState(now, () => physics.resetCounter());
  }

  inject(fault: FaultSpec): void {
    this.faults.inject(fault);
  }

  read(fc: ReadFunctionCode, address: number, length: number): UnitAnswer {
    this.requests++;
    if (this.faults.isSilent) return { kind: 'silent' };
    const code = this.faults.exceptionCode;
    if (code !== undefined) return { kind: 'exception', code };

    const registers = (this.model.registers as readonly FirmwareRegister<AnySnapshot>[]).filter((r) => r.fc === fc);
    const end = address + length;
    const overlapping = registers.filter((r) => r.address < end && r.address + wordCount(r.encoding.type) > address);
    // Meters answer reads of unmapped ranges with "illegal data address"; gaps inside a mapped range read as 0.
    if (overlapping.length === 0) return { kind: 'exception', code: EXCEPTION.ILLEGAL_DATA_ADDRESS };
    if (this.model.strictAddressing) {
      const covered = overlapping.reduce((n, r) => n + Math.min(end, r.address + wordCount(r.encoding.type)) - Math.max(address, r.address), 0);
      if (covered < length) return { kind: 'exception', code: EXCEPTION.ILLEGAL_DATA_ADDRESS };
    }

    const stuck = this.faults.isStuck;
    if (!stuck) this.frozen = undefined;
    const snapshot = stuck ? (this.frozen ??= this.physics.snapshot()) : this.physics.snapshot();
    // A spike shows on the next read that carries a counter.
    const spike = overlapping.some((r) => r.counter) ? this.faults.takeSpike() : 0;

    const words = new Array<number>(length).fill(0);
    const values: Record<string, number> = {};
    for (const reg of overlapping) {
      const value = reg.value(snapshot as never) + (reg.counter ? spike : 0);
      const regWords = encodeRegisters(value, reg.encoding);
      regWords.forEach((word, i) => {
        const at = reg.address + i - address;
        if (at >= 0 && at < length) words[at] = word;
      });
      if (reg.address >= address && reg.address + regWords.length <= end) values[reg.metric] = servedValue(value, reg.encoding);
    }
    for (const combined of this.model.combined ?? []) {
      const parts = combined.parts.map((part) => values[part]);
      for (const part of combined.parts) delete values[part];
      // Summed in the parts' order, as a reader adds the fraction to the integer.
      if (parts.every((v) => v !== undefined)) values[combined.metric] = parts.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) ?? 0;
    }
    this.onServe?.({ ts: Date.now(), device: this.id, unitId: this.unitId, functionCode: fc, address, length, values });
    return { kind: 'data', values: words };
  }

  answerDelayMs(): number {
    return this.faults.delayMs;
  }

  takeFrameDamage(): FrameDamage | undefined {
    return this.faults.takeDamage();
  }
}
