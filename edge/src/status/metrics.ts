import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own so several gateways can share a process. */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gh_edge_' });
  return {
    registry,
    modbusRequests: new Counter({
      name: 'gh_edge_modbus_requests_total',
      help: 'Modbus read transactions, by device and result (ok, timeout, exception, disconnected, bad_response)',
      labelNames: ['device', 'result'] as const,
      registers: [registry],
    }),
    pollDuration: new Histogram({
      name: 'gh_edge_poll_duration_seconds',
      help: 'Time to read every point of a device once',
      labelNames: ['device'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pollsSkipped: new Counter({
      name: 'gh_edge_polls_skipped_total',
      help: 'Polls skipped: the previous poll of the device had not finished (overlap), or the device is backed off after not answering (backoff)',
      labelNames: ['device', 'reason'] as const,
      registers: [registry],
    }),
    deviceUp: new Gauge({
      name: 'gh_edge_device_up',
      help: '1 when the device answered its last poll, 0 when it did not',
      labelNames: ['device'] as const,
      registers: [registry],
    }),
    protocolErrors: new Counter({
      name: 'gh_edge_protocol_errors_total',
      help: 'Frames and messages from devices that were refused (bad CRC, wrong length, unknown reply, …), by protocol and reason',
      labelNames: ['protocol', 'reason'] as const,
      registers: [registry],
    }),
    deviceEvents: new Counter({
      name: 'gh_edge_device_events_total',
      help: 'Normalised events produced by access-control and camera drivers, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsRefused: new Counter({
      name: 'gh_edge_events_refused_total',
      help: 'Events a driver produced that do not match the event contract (logged, not sent), by device',
      labelNames: ['device'] as const,
      registers: [registry],
    }),
    snapshotSeconds: new Histogram({
      name: 'gh_edge_snapshot_seconds',
      help: 'Time to fetch a camera snapshot for a door alarm, by camera',
      labelNames: ['camera'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    snapshotFailures: new Counter({
      name: 'gh_edge_snapshot_failures_total',
      help: 'Door alarms that went without the picture of a linked camera (timeout, camera offline, refused)',
      labelNames: ['camera'] as const,
      registers: [registry],
    }),
    readings: new Counter({
      name: 'gh_edge_readings_total',
      help: 'Readings produced by drivers, by quality',
      labelNames: ['quality'] as const,
      registers: [registry],
    }),
    batchesPublished: new Counter({
      name: 'gh_edge_batches_published_total',
      help: 'Telemetry batches acknowledged by the broker',
      registers: [registry],
    }),
    readingsPublished: new Counter({
      name: 'gh_edge_readings_published_total',
      help: 'Readings in batches acknowledged by the broker',
      registers: [registry],
    }),
    historicalPublished: new Counter({
      name: 'gh_edge_readings_replayed_total',
      help: 'Readings delivered from the backlog (historical batches)',
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'gh_edge_events_published_total',
      help: 'Events in batches acknowledged by the broker',
      registers: [registry],
    }),
    backlogItems: new Gauge({
      name: 'gh_edge_backlog_items',
      help: 'Readings or events in the journal waiting for the broker to acknowledge them',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    backlogAgeSeconds: new Gauge({
      name: 'gh_edge_backlog_age_seconds',
      help: 'Age of the oldest entry waiting in the journal',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    backlogDrainRate: new Gauge({
      name: 'gh_edge_backlog_drain_per_second',
      help: 'Items delivered per second over the last ten seconds',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    journalBytes: new Gauge({
      name: 'gh_edge_journal_bytes',
      help: 'Bytes the journal takes on disk',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    journalWrittenBytes: new Counter({
      name: 'gh_edge_journal_written_bytes_total',
      help: 'Bytes written to the journal (records with their headers)',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    journalPayloadBytes: new Counter({
      name: 'gh_edge_journal_payload_bytes_total',
      help: 'Payload bytes journaled (readings or events as published)',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    journalOverBudget: new Gauge({
      name: 'gh_edge_journal_over_budget',
      help: '1 while a journal stays over its disk budget after compaction (events are never dropped)',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    journalCompactedBytes: new Counter({
      name: 'gh_edge_journal_compacted_bytes_total',
      help: 'Bytes saved by compacting undelivered readings over the disk budget',
      registers: [registry],
    }),
    journalDamagedRecords: new Counter({
      name: 'gh_edge_journal_damaged_records_total',
      help: 'Journal records found damaged at start and skipped (torn_tail: an interrupted last write)',
      labelNames: ['stream', 'reason'] as const,
      registers: [registry],
    }),
    uplinkConnected: new Gauge({
      name: 'gh_edge_uplink_connected',
      help: '1 while the gateway is connected to its MQTT broker',
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
