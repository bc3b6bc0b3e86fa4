import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The cloud's Prometheus metrics, on a registry of its own so several instances can share a process. */
export function createCloudMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gh_cloud_' });
  return {
    registry,
    messages: new Counter({
      name: 'gh_cloud_ingest_messages_total',
      help: 'MQTT messages handled by the ingest, by topic kind and result (stored, dead_letter, retried)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    readingsStored: new Counter({
      name: 'gh_cloud_readings_stored_total',
      help: 'Readings newly stored',
      registers: [registry],
    }),
    readingsDuplicate: new Counter({
      name: 'gh_cloud_readings_duplicate_total',
      help: 'Readings received again (replay or redelivery) that changed nothing',
      registers: [registry],
    }),
    eventsStored: new Counter({
      name: 'gh_cloud_events_stored_total',
      help: 'Device events newly stored',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'gh_cloud_dead_letters_total',
      help: 'Messages rejected into the dead-letter table, by reason code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    resendsRequested: new Counter({
      name: 'gh_cloud_resends_requested_total',
      help: 'Ranges of journal entries a gateway delivered but the cloud never stored, asked for again',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    rangesLost: new Counter({
      name: 'gh_cloud_entries_lost_total',
      help: 'Journal entries acknowledged by a broker but never stored, and no longer held by their gateway',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    commandResults: new Counter({
      name: 'gh_cloud_command_results_total',
      help: 'Command results reported by gateways, by command and status',
      labelNames: ['command', 'status'] as const,
      registers: [registry],
    }),
    brokerRefusals: new Counter({
      name: 'gh_cloud_broker_refusals_total',
      help: 'Connections, publishes and subscriptions the embedded broker refused (bad credentials, topics outside an account)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    ingestDuration: new Histogram({
      name: 'gh_cloud_ingest_duration_seconds',
      help: 'Time from receiving a message to committing it',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'gh_cloud_events_rejected_total',
      help: 'Events refused one by one for not matching the event contract (the rest of their batch was stored)',
      registers: [registry],
    }),
    readingsRejected: new Counter({
      name: 'gh_cloud_readings_rejected_total',
      help: 'Readings refused one by one (the rest of their batch was stored), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    readingsUnknownDevice: new Counter({
      name: 'gh_cloud_readings_unknown_device_total',
      help: 'Readings stored for a device its gateway never declared',
      registers: [registry],
    }),
    rollupBuckets: new Counter({
      name: 'gh_cloud_rollup_buckets_refreshed_total',
      help: '15-minute buckets recomputed (each also refreshes its hour, day and month)',
      registers: [registry],
    }),
    rollupRefreshDuration: new Histogram({
      name: 'gh_cloud_rollup_refresh_duration_seconds',
      help: 'Time to bring the rollups up to date with what was written',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    rollupFailures: new Counter({
      name: 'gh_cloud_rollup_refresh_failures_total',
      help: 'Rollup refreshes that failed (retried at the next interval)',
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'gh_cloud_retention_deleted_total',
      help: 'Readings and rollup buckets deleted by the retention policy',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
  };
}

export type CloudMetrics = ReturnType<typeof createCloudMetrics>;
