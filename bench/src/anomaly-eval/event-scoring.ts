import { ANOMALY_TYPES, type Anomaly, type AnomalyType } from './labelled-suite.js';

/**
 * Event-level scoring of flagged rows against labelled anomalies:
 * - an anomaly is found when a flagged row of its meter falls within it, ± 2 hours;
 * - flagged rows of one meter closer than 4 hours together are one alert, attributed to the detector
 *   most of its rows name;
 * - an alert touching no anomaly of its meter (± 2 hours) is a false alert.
 * Per type: recall over that type's anomalies (found by any detector), precision over the alerts that
 * type's detector raised.
 */
export const MATCH_TOLERANCE_MS = 2 * 3_600_000;
export const ALERT_MERGE_MS = 4 * 3_600_000;

export interface FlaggedRow {
  ts: number;
  detector: string;
}

export interface Alert {
  meter: string;
  start: number;
  end: number;
  detector: string;
  rows: number[];
}

export interface TypeScore {
  anomalies: number;
  found: number;
  alerts: number;
  falseAlerts: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface EventScores {
  perType: Record<AnomalyType, TypeScore>;
  overall: TypeScore;
  falseAlertsPerCleanMeterMonth: number;
  cleanMeters: number;
  cleanFalseAlerts: number;
}

export function alertsOf(meter: string, flagged: readonly FlaggedRow[]): Alert[] {
  const sorted = [...flagged].sort((a, b) => a.ts - b.ts);
  const alerts: Alert[] = [];
  let current: (Alert & { votes: Map<string, number> }) | undefined;
  for (const row of sorted) {
    if (!current || row.ts - current.end >= ALERT_MERGE_MS) {
      current = { meter, start: row.ts, end: row.ts, detector: row.detector, rows: [], votes: new Map() };
      alerts.push(current);
    }
    current.end = row.ts;
    current.rows.push(row.ts);
    current.votes.set(row.detector, (current.votes.get(row.detector) ?? 0) + 1);
  }
  for (const alert of alerts as (Alert & { votes: Map<string, number> })[]) {
    alert.detector = [...alert.votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    delete (alert as Partial<{ votes: unknown }>).votes;
  }
  return alerts;
}

function touches(rows: readonly number[], anomaly: Anomaly): boolean {
  return rows.some((ts) => ts >= anomaly.start - MATCH_TOLERANCE_MS && ts <= anomaly.end + MATCH_TOLERANCE_MS);
}

function score(anomalies: number, found: number, alerts: number, falseAlerts: number): TypeScore {
  const precision = alerts === 0 ? (anomalies === 0 ? 1 : 0) : (alerts - falseAlerts) / alerts;
  const recall = anomalies === 0 ? 1 : found / anomalies;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { anomalies, found, alerts, falseAlerts, precision, recall, f1 };
}

export function scoreEvents(
  flaggedByMeter: ReadonlyMap<string, FlaggedRow[]>,
  anomalies: readonly Anomaly[],
  cleanMeters: readonly string[],
  months: number,
): EventScores & { alerts: (Alert & { false: boolean })[] } {
  const byMeter = new Map<string, Anomaly[]>();
  for (const a of anomalies) byMeter.set(a.meter, [...(byMeter.get(a.meter) ?? []), a]);
  const alerts: (Alert & { false: boolean })[] = [];
  for (const [meter, rows] of flaggedByMeter) {
    for (const alert of alertsOf(meter, rows)) alerts.push({ ...alert, false: !(byMeter.get(meter) ?? []).some((a) => touches(alert.rows, a)) });
  }
  const foundSet = new Set<Anomaly>();
  for (const a of anomalies) {
    const rows = flaggedByMeter.get(a.meter) ?? [];
    if (rows.some((r) => r.ts >= a.start - MATCH_TOLERANCE_MS && r.ts <= a.end + MATCH_TOLERANCE_MS)) foundSet.add(a);
  }
  const perType = {} as Record<AnomalyType, TypeScore>;
  for (const type of ANOMALY_TYPES) {
    const ofType = anomalies.filter((a) => a.type === type);
    const raised = alerts.filter((a) => a.detector === type);
    perType[type] = score(ofType.length, ofType.filter((a) => foundSet.has(a)).length, raised.length, raised.filter((a) => a.false).length);
  }
  const overall = score(anomalies.length, foundSet.size, alerts.length, alerts.filter((a) => a.false).length);
  const clean = new Set(cleanMeters);
  const cleanFalseAlerts = alerts.filter((a) => clean.has(a.meter)).length;
  return { perType, overall, cleanMeters: clean.size, cleanFalseAlerts, falseAlertsPerCleanMeterMonth: clean.size === 0 ? 0 : cleanFalseAlerts / (clean.size * months), alerts };
}
