import type { GatewayAddress, Quality, Reading } from '@gatehouse/contracts';

export interface WriteResult {
  /** readings newly stored */
  inserted: number;
  /** readings that were already stored (replay or redelivery) and changed nothing */
  duplicates: number;
}

export interface SeriesQuery {
  site: string;
  device: string;
  metric: string;
  /** inclusive, epoch ms */
  from: number;
  /** exclusive, epoch ms */
  to: number;
  /** bucket width in ms; omitted for raw readings */
  stepMs?: number;
  /** cap on raw points returned */
  limit: number;
}

export interface RawPoint {
  ts: number;
  value: number | null;
  quality: Quality;
}

/** One bucket of a stepped query; aggregates are over good-quality values only. */
export interface BucketPoint {
  ts: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  count: number;
}

export interface SeriesResult {
  unit: string | null;
  points: RawPoint[] | BucketPoint[];
}

export interface LatestReading {
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: number | null;
  quality: Quality;
}

/** Where readings are kept. Writing a reading that is already stored changes nothing. */
export interface TimeSeriesStore {
  write(origin: GatewayAddress, readings: readonly Reading[]): Promise<WriteResult>;
  query(query: SeriesQuery): Promise<SeriesResult>;
  latest(site: string, device: string): Promise<LatestReading[]>;
  close(): Promise<void>;
}
