-- 0002_partition_events: otp_events partitioned by month, exactly-once per event id through
-- otp_event_ids, and the recipient facts (country, number prefix, recipient hash) in the
-- verifications projection.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

-- Exactly-once per event id. A partitioned table's unique keys must contain the partition key,
-- and an event's time is not stable across replays (delivery stamps now()), so uniqueness on the
-- id alone lives in this small unpartitioned table: otp-audit claims the ids of a batch here
-- first (ON CONFLICT DO NOTHING) and inserts into otp_events only the events it claimed, in the
-- same transaction. occurred_at is the time stored with the event, for retention pruning.
CREATE TABLE otp_event_ids (
  id text PRIMARY KEY,
  occurred_at timestamptz NOT NULL
);

CREATE INDEX otp_event_ids_occurred_idx ON otp_event_ids (occurred_at);

COMMENT ON TABLE otp_event_ids IS
  'One row per stored event id: the exactly-once guard of otp_events (pruned with its partitions).';

-- The 0001 table steps aside (its index names are reused below), is copied, then dropped.
ALTER TABLE otp_events RENAME TO otp_events_0001;
ALTER INDEX otp_events_pkey RENAME TO otp_events_0001_pkey;
ALTER INDEX otp_events_tenant_verification_idx RENAME TO otp_events_0001_tenant_verification_idx;
ALTER INDEX otp_events_tenant_occurred_idx RENAME TO otp_events_0001_tenant_occurred_idx;

-- The audit trail, one partition per calendar month (UTC) of occurred_at, named
-- otp_events_pYYYYMM. There is no default partition: otp-audit creates the partitions a batch
-- needs before inserting it (otp_ensure_event_partitions), and `otpctl retention` drops whole
-- months. The primary key is (id, occurred_at) because PostgreSQL requires the partition key
-- in it; otp_event_ids keeps the id alone unique.
CREATE TABLE otp_events (
  id text NOT NULL,
  type text NOT NULL,
  source text NOT NULL,
  occurred_at timestamptz NOT NULL,
  tenant text NOT NULL,
  verification_id text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT otp_events_pkey PRIMARY KEY (id, occurred_at),
  CONSTRAINT otp_events_data_is_object CHECK (jsonb_typeof(data) = 'object'),
  -- Defence in depth: otp-audit dead-letters such events (at any depth) before they get here.
  CONSTRAINT otp_events_no_codes
    CHECK (NOT data ?| ARRAY['code', 'otp', 'otp_code', 'otp_code_sealed', 'sealed_code'])
) PARTITION BY RANGE (occurred_at);

COMMENT ON TABLE otp_events IS
  'Lifecycle events (otp.events), one row per event id (see otp_event_ids), partitioned by '
  'month. Never holds an OTP code, clear or sealed, nor a full recipient: events carry a masked '
  'recipient only.';

CREATE INDEX otp_events_tenant_verification_idx ON otp_events (tenant, verification_id);
CREATE INDEX otp_events_tenant_occurred_idx ON otp_events (tenant, occurred_at);
-- For report_locks: the lock events are rare, so a partial index costs the writer next to nothing.
CREATE INDEX otp_events_locks_idx ON otp_events (occurred_at)
  WHERE type IN ('verification.max_attempts_reached', 'recipient.locked');

-- The name of the partition holding `at`: otp_events_pYYYYMM (UTC month).
CREATE FUNCTION otp_event_partition_name(at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 'otp_events_p' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM')
$$;

-- Creates the monthly partitions of otp_events for every month (UTC) in [from_at, to_at] that
-- does not exist yet; returns how many it created. Cheap when they all exist (a catalogue
-- look-up per month). Creation is serialised by a transaction-level advisory lock, so two
-- writers needing the same new month do not collide: the second one waits, then finds it.
CREATE FUNCTION otp_ensure_event_partitions(from_at timestamptz, to_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  month timestamp := date_trunc('month', from_at AT TIME ZONE 'UTC');
  last_month timestamp := date_trunc('month', to_at AT TIME ZONE 'UTC');
  name text;
  locked boolean := false;
  created integer := 0;
BEGIN
  WHILE month <= last_month LOOP
    name := otp_event_partition_name(month AT TIME ZONE 'UTC');
    IF to_regclass(name) IS NULL THEN
      IF NOT locked THEN
        PERFORM pg_advisory_xact_lock(hashtext('otp_events partitions'));
        locked := true;
      END IF;
      -- Checked again under the lock: another writer may have created it meanwhile.
      IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF otp_events FOR VALUES FROM (%L) TO (%L)',
                       name, month AT TIME ZONE 'UTC',
                       (month + interval '1 month') AT TIME ZONE 'UTC');
        created := created + 1;
      END IF;
    END IF;
    month := month + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;

-- Drops every monthly partition of otp_events that ends at or before `cutoff` (so only whole
-- months go), and prunes otp_event_ids up to the end of the newest month dropped. Returns the
-- names of the dropped partitions. Used by `otpctl retention`.
CREATE FUNCTION otp_drop_event_partitions(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  part record;
  month_end timestamptz;
  pruned_to timestamptz;
BEGIN
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'otp_events'::regclass AND c.relname ~ '^otp_events_p[0-9]{6}$'
    ORDER BY c.relname
  LOOP
    month_end := (to_date(substr(part.relname, 13), 'YYYYMM')::timestamp
                  + interval '1 month') AT TIME ZONE 'UTC';
    CONTINUE WHEN month_end > cutoff;
    EXECUTE format('DROP TABLE %I', part.relname);
    pruned_to := GREATEST(pruned_to, month_end);
    RETURN NEXT part.relname;
  END LOOP;
  IF pruned_to IS NOT NULL THEN
    DELETE FROM otp_event_ids WHERE occurred_at < pruned_to;
  END IF;
END
$$;

-- Existing rows move over, each month into its partition.
DO $$
BEGIN
  PERFORM otp_ensure_event_partitions(min(occurred_at), max(occurred_at))
  FROM otp_events_0001 HAVING count(*) > 0;
END
$$;

INSERT INTO otp_events (id, type, source, occurred_at, tenant, verification_id, data, ingested_at)
SELECT id, type, source, occurred_at, tenant, verification_id, data, ingested_at
FROM otp_events_0001;

INSERT INTO otp_event_ids (id, occurred_at) SELECT id, occurred_at FROM otp_events_0001;

DROP TABLE otp_events_0001;

-- The current month and the next two exist from the start, so the writer rarely creates one.
DO $$
BEGIN
  PERFORM otp_ensure_event_partitions(now(), now() + interval '2 months');
END
$$;

-- Recipient facts from verification.created (the generator adds them); NULL when absent.
-- country: ISO 3166-1 alpha-2 of the number; number_prefix: its leading digits (country and
-- area code, never the whole number); recipient_hash: a keyed hash of the recipient, for
-- erasure requests and abuse signals. Set to NULL by `otpctl erase`.
ALTER TABLE verifications
  ADD COLUMN country text,
  ADD COLUMN number_prefix text,
  ADD COLUMN recipient_hash text;

CREATE INDEX verifications_tenant_recipient_hash_idx ON verifications (tenant, recipient_hash)
  WHERE recipient_hash IS NOT NULL;
