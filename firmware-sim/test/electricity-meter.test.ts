import { describe, expect, it } from 'vitest';
import { loadFactor, SimulatedElectricityMeter } from '@gatehouse/firmware-sim';

const TZ = 'Asia/Shanghai';
// Thursday 2026-11-26 in Shanghai (UTC+8).
const at = (hour: number, minute = 0) => Date.UTC(2026, 10, 26, hour - 8, minute);

describe('load shapes', () => {
  it('follow the working day of an office and the evening peak of homes, in local time', () => {
    expect(loadFactor('office', at(10), TZ)).toBeGreaterThan(0.9);
    expect(loadFactor('office', at(3), TZ)).toBeLessThan(0.25);
    expect(loadFactor('residential', at(20), TZ)).toBeGreaterThan(loadFactor('residential', at(14), TZ));
    // Saturday: the office stays quiet.
    expect(loadFactor('office', at(10) + 2 * 86_400_000, TZ)).toBeLessThan(0.4);
  });

  it('interpolate between hours, so power changes smoothly', () => {
    const a = loadFactor('office', at(8, 0), TZ);
    const mid = loadFactor('office', at(8, 30), TZ);
    const b = loadFactor('office', at(9, 0), TZ);
    expect(mid).toBeCloseTo((a + b) / 2, 10);
  });
});

describe('simulated electricity meter', () => {
  it('integrates power into its energy register over elapsed time', () => {
    let now = at(10);
    const meter = new SimulatedElectricityMeter({ ratedKw: 100, shape: 'office', timeZone: TZ, initialImportKwh: 1000, seed: 7, now: () => now });
    let powerSum = 0;
    const steps = 360;
    for (let i = 0; i < steps; i++) {
      now += 10_000;
      powerSum += meter.snapshot().totalActivePower;
    }
    // One hour at about 95 kW: energy grows by the mean power times one hour (trapezoids vs samples).
    const gainedKwh = meter.importEnergyKwh - 1000;
    const meanKw = powerSum / steps / 1000;
    expect(gainedKwh).toBeGreaterThan(80);
    expect(gainedKwh).toBeLessThan(110);
    expect(Math.abs(gainedKwh - meanKw) / meanKw).toBeLessThan(0.01);
  });

  it('serves consistent electrical quantities', () => {
    const now = at(15);
    const s = new SimulatedElectricityMeter({ ratedKw: 60, shape: 'office', timeZone: TZ, initialImportKwh: 0, seed: 3, now: () => now }).snapshot();
    expect(s.activePower.reduce((x, y) => x + y, 0)).toBeCloseTo(s.totalActivePower, 6);
    s.current.forEach((i, phase) => {
      expect(i * (s.voltage[phase] ?? 0) * s.powerFactor).toBeCloseTo(s.activePower[phase] ?? 0, 6);
    });
    expect(s.frequency).toBeGreaterThan(49.8);
    expect(s.frequency).toBeLessThan(50.2);
  });
});
