import type { SqlClient } from './sql-client.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** One rollup level: per series and bucket start, the good values' count/sum/min/max/last and a counter's consumption. */
const rollupTable = (level: string) => `
      CREATE TABLE rollup_${level} (
        series_id integer NOT NULL,
        bucket timestamptz NOT NULL,
        count integer NOT NULL,
        sum double precision,
        min double precision,
        max double precision,
        last double precision,
        consumption double precision,
        PRIMARY KEY (series_id, bucket)
      );`;

/**
 * Versioned schema changes, applied in order at start. Never edit one that has shipped: add the next.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sites, gateways, devices, series, readings, events, dead letters',
    sql: `
      CREATE TABLE sites (
        id text PRIMARY KEY,
        name text,
        time_zone text NOT NULL DEFAULT 'Asia/Shanghai',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE gateways (
        site text NOT NULL REFERENCES sites (id),
        id text NOT NULL,
        status text NOT NULL DEFAULT 'unknown',
        version text,
        last_seen timestamptz,
        status_changed_at timestamptz,
        last_seq bigint,
        PRIMARY KEY (site, id)
      );
      CREATE TABLE devices (
        site text NOT NULL REFERENCES sites (id),
        id text NOT NULL,
        gateway text NOT NULL,
        kind text NOT NULL DEFAULT 'meter',
        driver text,
        profile text,
        name text,
        last_seen timestamptz,
        PRIMARY KEY (site, id)
      );
      CREATE TABLE series (
        id serial PRIMARY KEY,
        site text NOT NULL,
        device text NOT NULL,
        metric text NOT NULL,
        unit text NOT NULL,
        UNIQUE (site, device, metric)
      );
      CREATE TABLE readings (
        series_id integer NOT NULL REFERENCES series (id),
        ts timestamptz NOT NULL,
        value double precision,
        quality text NOT NULL,
        PRIMARY KEY (series_id, ts)
      );
      CREATE TABLE events (
        site text NOT NULL,
        gateway text NOT NULL,
        id text NOT NULL,
        device text NOT NULL,
        type text NOT NULL,
        ts timestamptz NOT NULL,
        point text,
        credential text,
        reason text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (site, gateway, id)
      );
      CREATE INDEX events_site_ts ON events (site, ts DESC);
      CREATE TABLE event_attachments (
        site text NOT NULL,
        gateway text NOT NULL,
        event_id text NOT NULL,
        idx integer NOT NULL,
        camera text NOT NULL,
        content_type text NOT NULL,
        ts timestamptz NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (site, gateway, event_id, idx),
        FOREIGN KEY (site, gateway, event_id) REFERENCES events (site, gateway, id)
      );
      CREATE TABLE dead_letters (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        topic text NOT NULL,
        reason text NOT NULL,
        payload bytea
      );
    `,
  },
  {
    version: 2,
    name: 'delivered batch ranges, gateway stream state',
    sql: `
      CREATE TABLE received_batches (
        site text NOT NULL,
        gateway text NOT NULL,
        stream text NOT NULL,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        historical boolean NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (site, gateway, stream, first_seq, last_seq)
      );
      ALTER TABLE gateways ADD COLUMN streams jsonb;
    `,
  },
  {
    version: 3,
    name: 'ranges known lost',
    sql: `ALTER TABLE received_batches ADD COLUMN lost boolean NOT NULL DEFAULT false;`,
  },
  {
    version: 4,
    name: 'readings partitioned by month with a BRIN index, counter/gauge series, rollups and their pending intervals',
    sql: `
      ALTER TABLE series ADD COLUMN kind text NOT NULL DEFAULT 'gauge';
      ALTER TABLE readings RENAME TO readings_before_v4;
      ALTER INDEX readings_pkey RENAME TO readings_before_v4_pkey;
      -- Monthly partitions (UTC) are created by the service as readings arrive; retention drops whole ones.
      CREATE TABLE readings (
        series_id integer NOT NULL,
        ts timestamptz NOT NULL,
        value double precision,
        quality text NOT NULL,
        -- a reading the gateway compacted from several gauge readings: how many, their min and max
        agg_count integer,
        agg_min double precision,
        agg_max double precision,
        PRIMARY KEY (series_id, ts)
      ) PARTITION BY RANGE (ts);
      CREATE INDEX readings_ts_brin ON readings USING brin (ts);
      DO $$
      DECLARE month timestamp;
      BEGIN
        FOR month IN SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') FROM readings_before_v4 LOOP
          EXECUTE format('CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
            'readings_p' || to_char(month, 'YYYY_MM'), month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        END LOOP;
      END $$;
      INSERT INTO readings (series_id, ts, value, quality) SELECT series_id, ts, value, quality FROM readings_before_v4;
      -- Intervals written since the rollups were last refreshed: one row per write, naming its series.
      CREATE TABLE rollup_pending (
        id bigserial PRIMARY KEY,
        series_ids integer[] NOT NULL,
        from_ts timestamptz NOT NULL,
        to_ts timestamptz NOT NULL
      );
      INSERT INTO rollup_pending (series_ids, from_ts, to_ts) SELECT ARRAY[series_id], min(ts), max(ts) FROM readings_before_v4 GROUP BY series_id;
      DROP TABLE readings_before_v4;
      ${['15m', '1h', '1d', '1mo'].map(rollupTable).join('\n')}
    `,
  },
  {
    version: 5,
    name: 'buildings and assets of a site, and the devices that serve them',
    sql: `
      CREATE TABLE buildings (
        site text NOT NULL REFERENCES sites (id),
        id text NOT NULL,
        name text,
        PRIMARY KEY (site, id)
      );
      -- What facilities teams look after (a main incomer, a pump, an air handler, a door): work orders
      -- and energy reports are about assets; the devices that measure or serve one are listed with it.
      CREATE TABLE assets (
        site text NOT NULL REFERENCES sites (id),
        id text NOT NULL,
        name text,
        kind text NOT NULL,
        building text,
        PRIMARY KEY (site, id),
        FOREIGN KEY (site, building) REFERENCES buildings (site, id)
      );
      CREATE TABLE asset_devices (
        site text NOT NULL,
        asset text NOT NULL,
        device text NOT NULL,
        PRIMARY KEY (site, asset, device),
        FOREIGN KEY (site, asset) REFERENCES assets (site, id) ON DELETE CASCADE
      );
      CREATE INDEX asset_devices_device ON asset_devices (site, device);
    `,
  },
  {
    version: 6,
    name: 'audit log of commands sent to gateways (door commands), with their results; arrival time of event pictures',
    sql: `
      CREATE TABLE commands (
        id text PRIMARY KEY,
        site text NOT NULL REFERENCES sites (id),
        gateway text NOT NULL,
        name text NOT NULL,
        -- the device the command is about, when it is about one (a door command)
        device text,
        args jsonb NOT NULL,
        issued_by text NOT NULL,
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        -- sent, then what the gateway reported: ok, failed, rejected, expired, duplicate
        status text NOT NULL DEFAULT 'sent',
        detail text,
        result jsonb,
        result_at timestamptz
      );
      CREATE INDEX commands_site_issued ON commands (site, issued_at DESC);
      -- A device's events, newest first (its history, and whether it is online now).
      CREATE INDEX events_device_ts ON events (site, device, ts DESC);
      -- Pictures may follow their event: when each arrived.
      ALTER TABLE event_attachments ADD COLUMN received_at timestamptz NOT NULL DEFAULT clock_timestamp();
    `,
  },
  {
    version: 7,
    name: 'accounts (users, sessions, API tokens, login failures), alarms and their notifications, the append-only audit log, the live feed, meters in communication error, camera snapshots',
    sql: `
      -- People who use the console and the API. roles: admin, guard, engineer, facilities; sites: the
      -- site ids granted ('*': every site). Users are disabled, never deleted: the audit names them.
      CREATE TABLE users (
        username text PRIMARY KEY,
        display_name text,
        password_hash text NOT NULL,
        roles text[] NOT NULL,
        sites text[] NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        password_changed_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz
      );
      -- Console sessions: the cookie holds a random secret, the table only its SHA-256.
      CREATE TABLE sessions (
        id_hash text PRIMARY KEY,
        username text NOT NULL REFERENCES users (username),
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        address text,
        user_agent text,
        revoked_at timestamptz
      );
      CREATE INDEX sessions_username ON sessions (username);
      -- Bearer tokens for scripts and integrations, scoped to roles and sites, hashed at rest.
      CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        name text NOT NULL,
        token_hash text NOT NULL UNIQUE,
        username text NOT NULL REFERENCES users (username),
        roles text[] NOT NULL,
        sites text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        last_used_at timestamptz
      );
      -- Failed logins, for rate limiting across cloud instances: an account is locked per client
      -- address, so that nobody can lock a user (the admin) out from everywhere by guessing.
      CREATE TABLE login_failures (
        username text NOT NULL,
        address text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX login_failures_address_at ON login_failures (address, at);
      CREATE INDEX login_failures_username_at ON login_failures (username, at);

      -- Alarms for guards. source_key names what raised it (door forced at a door, a device offline, a
      -- gateway silent): while an alarm of a source is not closed, new occurrences count on it.
      CREATE TABLE alarms (
        id bigserial PRIMARY KEY,
        site text NOT NULL,
        source_key text NOT NULL,
        type text NOT NULL,
        priority integer NOT NULL,
        state text NOT NULL DEFAULT 'new',
        gateway text,
        device text,
        point text,
        detail text,
        -- the event that raised or last repeated it (its pictures are the alarm's)
        event_gateway text,
        event_id text,
        occurrences integer NOT NULL DEFAULT 1,
        first_at timestamptz NOT NULL,
        last_at timestamptz NOT NULL,
        raised_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        condition_ended_at timestamptz,
        acknowledged_at timestamptz,
        acknowledged_by text,
        ack_type text,
        ack_note text,
        cleared_at timestamptz,
        cleared_by text,
        closed_at timestamptz,
        closed_by text,
        escalation_level integer NOT NULL DEFAULT 0
      );
      -- Two cloud instances cannot raise the same alarm twice: one open alarm per source.
      CREATE UNIQUE INDEX alarms_open_source ON alarms (site, source_key) WHERE state <> 'closed';
      CREATE INDEX alarms_site_state ON alarms (site, state, priority, last_at DESC);
      CREATE INDEX alarms_unacknowledged ON alarms (first_at) WHERE state = 'new';
      -- Escalations to send (webhook, e-mail), retried with backoff; the outbox of the notifier.
      CREATE TABLE alarm_notifications (
        id bigserial PRIMARY KEY,
        alarm_id bigint NOT NULL REFERENCES alarms (id),
        level integer NOT NULL,
        channel text NOT NULL,
        target text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        UNIQUE (alarm_id, level, channel, target)
      );
      CREATE INDEX alarm_notifications_due ON alarm_notifications (next_attempt_at) WHERE status = 'pending';

      -- Who did what, when: alarm transitions, door commands, accounts. Append-only: the database
      -- itself refuses to change or remove a line.
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor text NOT NULL,
        site text,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text NOT NULL,
        from_state text,
        to_state text,
        note text,
        details jsonb
      );
      CREATE INDEX audit_log_site_at ON audit_log (site, at DESC);
      CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
      CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END
      $f$;
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

      -- What the console is pushed live (new and changed alarms, stored events), numbered so that a
      -- reconnecting browser asks for what came after the last number it saw.
      CREATE TABLE live_feed (
        seq bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        site text NOT NULL,
        kind text NOT NULL,
        payload jsonb NOT NULL
      );
      CREATE INDEX live_feed_at ON live_feed (at);

      -- Since when a meter's readings have all been communication errors (null: it answers).
      ALTER TABLE devices ADD COLUMN comm_error_since timestamptz;

      -- Pictures a guard asked a camera for.
      CREATE TABLE camera_snapshots (
        id bigserial PRIMARY KEY,
        site text NOT NULL,
        device text NOT NULL,
        content_type text NOT NULL,
        taken_at timestamptz NOT NULL,
        requested_by text NOT NULL,
        data bytea NOT NULL
      );
      CREATE INDEX camera_snapshots_device ON camera_snapshots (site, device, taken_at DESC);
      -- A camera's latest picture, whichever event it was attached to.
      CREATE INDEX event_attachments_camera ON event_attachments (site, camera, ts DESC);
    `,
  },
  {
    version: 8,
    name: 'energy findings of the anomaly detectors, the meters they watch, counter events flagged by the edge',
    sql: `
      -- What the detectors found: one row per ongoing or past problem of one meter (it grows while the
      -- problem lasts). Rows starting within the re-analysed window are replaced when late data changes
      -- the picture; older ones are kept as they were.
      CREATE TABLE findings (
        id bigserial PRIMARY KEY,
        site text NOT NULL,
        device text NOT NULL,
        metric text NOT NULL,
        detector text NOT NULL,
        variant text,
        start_at timestamptz NOT NULL,
        end_at timestamptz NOT NULL,
        ongoing boolean NOT NULL,
        unit text NOT NULL,
        commodity text NOT NULL,
        actual double precision,
        expected double precision,
        expected_low double precision,
        expected_high double precision,
        excess double precision,
        cost_cny double precision,
        confidence double precision NOT NULL,
        reason_en text NOT NULL,
        reason_zh text NOT NULL,
        evidence jsonb,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (site, device, metric, detector, start_at)
      );
      CREATE INDEX findings_site_start ON findings (site, start_at DESC);
      CREATE INDEX findings_ongoing ON findings (site) WHERE ongoing;
      -- Each watched meter: how much history its baseline has, and when it was last analysed.
      CREATE TABLE detection_meters (
        site text NOT NULL,
        device text NOT NULL,
        metric text NOT NULL,
        unit text NOT NULL,
        history_days integer NOT NULL,
        learned_from timestamptz,
        analysed_at timestamptz NOT NULL,
        data_to timestamptz,
        PRIMARY KEY (site, device, metric)
      );
      -- Counter readings the edge flagged (reset, rollover, negative step, jump): kept apart because the
      -- rollups leave them out and the detectors report them.
      CREATE TABLE counter_events (
        site text NOT NULL,
        device text NOT NULL,
        metric text NOT NULL,
        ts timestamptz NOT NULL,
        quality text NOT NULL,
        value double precision,
        PRIMARY KEY (site, device, metric, ts)
      );
    `,
  },
  {
    version: 9,
    name: 'a log of the 15-minute buckets each rollup refresh recomputed',
    sql: `
      -- Whoever keeps a copy of the rollups (the energy detectors) reads what changed since it last
      -- looked, whichever cloud instance refreshed them: by the transaction that logged the change. Kept
      -- a day.
      CREATE TABLE rollup_changes (
        id bigserial PRIMARY KEY,
        tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
        changed_at timestamptz NOT NULL DEFAULT now(),
        series_ids integer[] NOT NULL,
        from_ms double precision[] NOT NULL
      );
      CREATE INDEX rollup_changes_tx ON rollup_changes (tx);
    `,
  },
  {
    version: 10,
    name: 'maintenance work orders, their history and what raised them',
    sql: `
      -- A work order (工单): raised by hand, from an energy finding or a fault alarm, or by a plan.
      CREATE TABLE work_orders (
        id bigserial PRIMARY KEY,
        site text NOT NULL REFERENCES sites (id),
        title text NOT NULL,
        category text NOT NULL,
        priority integer NOT NULL,
        state text NOT NULL DEFAULT 'open',
        origin text NOT NULL,
        -- automatic orders: the asset and problem (one active order per key and site)
        source_key text,
        asset text,
        building text,
        floor text,
        unit text,
        device text,
        description text NOT NULL DEFAULT '',
        -- what raised it: the finding's sentence and chart data, or the alarm and its pictures
        evidence jsonb,
        team text,
        assignee text,
        requester_name text,
        requester_contact text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        response_due_at timestamptz NOT NULL,
        resolution_due_at timestamptz NOT NULL,
        sla_mode text NOT NULL,
        responded_at timestamptz,
        completed_at timestamptz,
        closed_at timestamptz,
        cancelled_at timestamptz,
        hold_reason text,
        occurrences integer NOT NULL DEFAULT 1,
        last_occurrence_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        condition_cleared_at timestamptz,
        checklist jsonb NOT NULL DEFAULT '[]',
        parts jsonb NOT NULL DEFAULT '[]',
        labour_minutes integer NOT NULL DEFAULT 0,
        cost_cny numeric(14, 2),
        rating integer,
        rating_comment text
      );
      CREATE UNIQUE INDEX work_orders_one_active_per_source ON work_orders (site, source_key)
        WHERE source_key IS NOT NULL AND state IN ('open', 'assigned', 'in_progress', 'on_hold');
      CREATE INDEX work_orders_board ON work_orders (site, state, priority, created_at DESC);
      CREATE INDEX work_orders_asset ON work_orders (site, asset) WHERE asset IS NOT NULL;
      -- Every change: who, when, what (transitions, comments, occurrences, the condition clearing).
      CREATE TABLE work_order_events (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor text NOT NULL,
        kind text NOT NULL,
        from_state text,
        to_state text,
        note text
      );
      CREATE INDEX work_order_events_order ON work_order_events (order_id, id);
      -- Each finding or alarm episode counted on an order, once (the raiser's exactly-once).
      CREATE TABLE work_order_sources (
        ref text PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        active boolean NOT NULL DEFAULT true,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX work_order_sources_order ON work_order_sources (order_id);
    `,
  },
  {
    version: 11,
    name: 'photos on work orders',
    sql: `
      -- Photos before and after the work, as the technician took them (type checked by its bytes).
      CREATE TABLE work_order_attachments (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        stage text NOT NULL,
        file_name text NOT NULL,
        content_type text NOT NULL,
        size integer NOT NULL,
        data bytea NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX work_order_attachments_order ON work_order_attachments (order_id, id);
    `,
  },
  {
    version: 12,
    name: 'the equipment ledger and preventive maintenance plans',
    sql: `
      -- The equipment ledger (设备台账): what a facilities team must know of an asset to keep it.
      -- Assets the configuration declares are replaced by it; those added in the console (declared =
      -- false) are the console's.
      ALTER TABLE assets
        ADD COLUMN declared boolean NOT NULL DEFAULT true,
        ADD COLUMN make text,
        ADD COLUMN model text,
        ADD COLUMN serial_no text,
        ADD COLUMN installed_on date,
        ADD COLUMN warranty_until date,
        ADD COLUMN location text,
        ADD COLUMN notes text;
      -- Manuals, certificates and inspection reports kept with an asset (PDF or image, by its bytes).
      CREATE TABLE asset_documents (
        id bigserial PRIMARY KEY,
        site text NOT NULL,
        asset text NOT NULL,
        title text NOT NULL,
        file_name text NOT NULL,
        content_type text NOT NULL,
        size integer NOT NULL,
        data bytea NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (site, asset) REFERENCES assets (site, id) ON DELETE CASCADE
      );
      CREATE INDEX asset_documents_asset ON asset_documents (site, asset, id);
      -- A preventive maintenance plan (维保计划): orders on a calendar and/or on usage read from a meter,
      -- whichever comes first. Plans the configuration declares carry its key.
      CREATE TABLE maintenance_plans (
        id bigserial PRIMARY KEY,
        key text UNIQUE,
        site text NOT NULL,
        asset text NOT NULL,
        name text NOT NULL,
        template text,
        category text NOT NULL,
        priority integer NOT NULL,
        team text NOT NULL,
        checklist jsonb NOT NULL DEFAULT '[]',
        -- calendar: every n days / weeks / months from starts_on (weeks: on the given ISO weekdays)
        every_n integer,
        every_unit text,
        weekdays integer[],
        starts_on date NOT NULL,
        -- usage: an order once the meter's counter has advanced this much since the last service
        usage_device text,
        usage_metric text,
        usage_every double precision,
        usage_baseline double precision,
        -- how many days before a calendar due date its order is raised
        lead_days integer NOT NULL DEFAULT 0,
        active boolean NOT NULL DEFAULT true,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (site, asset) REFERENCES assets (site, id) ON DELETE CASCADE
      );
      CREATE INDEX maintenance_plans_asset ON maintenance_plans (site, asset);
      -- Every occurrence of a plan, raised or skipped (with why): none is lost silently.
      CREATE TABLE plan_occurrences (
        id bigserial PRIMARY KEY,
        plan_id bigint NOT NULL REFERENCES maintenance_plans (id) ON DELETE CASCADE,
        due_on date NOT NULL,
        trigger text NOT NULL,
        outcome text NOT NULL,
        order_id bigint REFERENCES work_orders (id) ON DELETE SET NULL,
        reason text,
        actor text NOT NULL,
        usage_at_raise double precision,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      -- A calendar date is raised or skipped once; usage may come due more than once a day.
      CREATE UNIQUE INDEX plan_occurrences_calendar ON plan_occurrences (plan_id, due_on) WHERE trigger = 'calendar';
      CREATE INDEX plan_occurrences_plan ON plan_occurrences (plan_id, due_on DESC, id DESC);
    `,
  },
  {
    version: 13,
    name: 'what work-order teams are told of, and the messages to send them',
    sql: `
      -- Set once an order's deadline is found breached (a history line, and its team told): never twice.
      ALTER TABLE work_orders ADD COLUMN response_breach_noted_at timestamptz, ADD COLUMN resolution_breach_noted_at timestamptz;
      -- Orders already late when this is installed are not announced as breached days after the fact.
      UPDATE work_orders SET response_breach_noted_at = now()
        WHERE responded_at IS NULL AND state IN ('open', 'assigned') AND response_due_at < now();
      UPDATE work_orders SET resolution_breach_noted_at = now()
        WHERE completed_at IS NULL AND state IN ('open', 'assigned', 'in_progress', 'on_hold') AND resolution_due_at < now();
      CREATE INDEX work_orders_response_unnoted ON work_orders (response_due_at)
        WHERE response_breach_noted_at IS NULL AND responded_at IS NULL;
      CREATE INDEX work_orders_resolution_unnoted ON work_orders (resolution_due_at)
        WHERE resolution_breach_noted_at IS NULL AND completed_at IS NULL;
      -- What an order's team is told of (created, assigned, a deadline breached), written by the trigger
      -- below in the transaction of the history line; the notifier then queues one message per target
      -- of the team's channels as configured (the configuration is not in the database).
      CREATE TABLE work_order_notices (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
        event text NOT NULL,
        -- the team and assignee when it happened
        team text NOT NULL,
        assignee text,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
        queued_at timestamptz,
        targets integer
      );
      CREATE INDEX work_order_notices_order ON work_order_notices (order_id);
      CREATE INDEX work_order_notices_unqueued ON work_order_notices (id) WHERE queued_at IS NULL;
      -- One message to one webhook or address, retried with backoff: the outbox of the notifier.
      CREATE TABLE work_order_notifications (
        id bigserial PRIMARY KEY,
        notice_id bigint NOT NULL REFERENCES work_order_notices (id) ON DELETE CASCADE,
        channel text NOT NULL,
        target text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        UNIQUE (notice_id, channel, target)
      );
      CREATE INDEX work_order_notifications_due ON work_order_notifications (next_attempt_at) WHERE status = 'pending';
      -- Every way an order is created or assigned (by hand, by the raiser, by a plan) writes its history
      -- line; telling the team from that line keeps the notice in the same transaction as the change.
      CREATE FUNCTION work_order_notice_of_event() RETURNS trigger LANGUAGE plpgsql AS $f$
        DECLARE
          told text := CASE NEW.kind WHEN 'created' THEN 'created' WHEN 'assign' THEN 'assigned'
            WHEN 'response_breached' THEN 'response_breached' WHEN 'resolution_breached' THEN 'resolution_breached' END;
        BEGIN
          IF told IS NULL THEN RETURN NULL; END IF;
          -- An order raised already assigned is told of once, as created (with its assignee).
          IF told = 'assigned' AND EXISTS (SELECT 1 FROM work_order_notices n
                WHERE n.order_id = NEW.order_id AND n.event = 'created' AND n.tx = pg_current_xact_id()) THEN
            RETURN NULL;
          END IF;
          INSERT INTO work_order_notices (order_id, event, team, assignee)
            SELECT o.id, told, o.team, o.assignee FROM work_orders o WHERE o.id = NEW.order_id AND o.team IS NOT NULL;
          RETURN NULL;
        END
      $f$;
      CREATE TRIGGER work_order_events_notice AFTER INSERT ON work_order_events
        FOR EACH ROW EXECUTE FUNCTION work_order_notice_of_event();
    `,
  },
  {
    version: 14,
    name: 'where the readings live',
    sql: `
      -- 'hypertable' once readings are a TimescaleDB hypertable: a database that later lacks the
      -- extension refuses to start instead of running without its readings.
      CREATE TABLE storage_layout (name text PRIMARY KEY, value text NOT NULL);
    `,
  },
];

// Arbitrary constant: serialises migrations when several cloud instances start against one database.
const MIGRATION_LOCK_ID = 7_362_001;

/** Applies every migration not yet applied (or those up to `upTo`, for tests of a migration itself). */
export async function migrate(db: SqlClient, options: { upTo?: number } = {}): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > (options.upTo ?? Infinity)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
