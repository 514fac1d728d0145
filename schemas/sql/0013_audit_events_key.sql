-- 0013_audit_events_key: otp_events gets its primary key (id, occurred_at) back.
--
-- 0012 dropped it as redundant for ingest: exactly-once is otp_event_ids (one row per event id,
-- claimed before an event is inserted), and the audit writer never looks events up by key. But
-- the table is a contract for operators, and its key is part of it: the schema says which
-- column identifies an event, logical replication and change-data-capture tools need a replica
-- identity, and dump/ETL tools key their loads on it. On a table partitioned by month the key
-- must hold the partition column, hence (id, occurred_at); the id alone stays unique through
-- otp_event_ids. Cost: one more index insert per stored event (docs/decisions/0008).
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

ALTER TABLE otp_events ADD CONSTRAINT otp_events_pkey PRIMARY KEY (id, occurred_at);
