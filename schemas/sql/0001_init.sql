-- 0001_init: tenants and their credentials, the compat directory, the audit trail (otp_events)
-- and the per-verification projection (verifications).
--
-- Applied by scripts/stack inside one transaction (psql --single-transaction), which also records
-- it in schema_migrations: no BEGIN/COMMIT here, no psql meta-commands, nothing that cannot run in
-- a transaction.

-- Tenants: the applications that call the API. Ids follow the message id rule
-- (common/messages: [A-Za-z0-9._:-], at most 128 characters).
CREATE TABLE tenants (
  id text PRIMARY KEY CONSTRAINT tenants_id_format CHECK (id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO tenants (id, name) VALUES ('dev', 'Development tenant') ON CONFLICT (id) DO NOTHING;

-- API credentials. Only a hash of the secret is kept; the clear secret is shown once, at creation.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id),
  secret_hash text NOT NULL,
  scopes text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

-- Seed 000 compatibility: a tenant's mobile number -> email address look-up for /send-otp.
CREATE TABLE directory (
  tenant_id text NOT NULL REFERENCES tenants (id),
  mobile text NOT NULL,
  email text NOT NULL,
  PRIMARY KEY (tenant_id, mobile)
);

-- The audit trail: every lifecycle event from the events topic, once (primary key = event id,
-- written by otp-audit with ON CONFLICT DO NOTHING). No foreign key to tenants on purpose: the
-- trail records what happened even for a tenant deleted since. A later migration partitions it
-- by month.
CREATE TABLE otp_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  source text NOT NULL,
  occurred_at timestamptz NOT NULL,
  tenant text NOT NULL,
  verification_id text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  ingested_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT otp_events_data_is_object CHECK (jsonb_typeof(data) = 'object'),
  -- Defence in depth: otp-audit dead-letters such events (at any depth) before they get here.
  CONSTRAINT otp_events_no_codes
    CHECK (NOT data ?| ARRAY['code', 'otp', 'otp_code', 'otp_code_sealed', 'sealed_code'])
);

COMMENT ON TABLE otp_events IS
  'Lifecycle events (otp.events), one row per event id. Never holds an OTP code, clear or sealed, '
  'nor a full recipient: events carry a masked recipient only.';

CREATE INDEX otp_events_tenant_verification_idx ON otp_events (tenant, verification_id);
CREATE INDEX otp_events_tenant_occurred_idx ON otp_events (tenant, occurred_at);

-- Precedence of lifecycle statuses in the projection: a verification ends in the status of
-- highest rank among its events, whatever order they arrive in. approved beats everything (the
-- person proved control); canceled beats the time-outs that a sweeper may report later.
CREATE FUNCTION otp_lifecycle_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE status
    WHEN 'pending' THEN 0
    WHEN 'expired' THEN 1
    WHEN 'max_attempts_reached' THEN 2
    WHEN 'canceled' THEN 3
    WHEN 'approved' THEN 4
    ELSE -1
  END
$$;

-- Precedence of delivery outcomes: one successful send settles it (a fallback channel may have
-- failed first); a delivery dropped at its deadline is final even if an attempt failed earlier.
CREATE FUNCTION otp_delivery_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE status
    WHEN 'failed' THEN 1
    WHEN 'expired' THEN 2
    WHEN 'sent' THEN 3
    ELSE 0
  END
$$;

-- Whether a delivery outcome replaces the one the projection holds: it ranks higher, or ranks the
-- same and happened earlier (the first of equals decides, whichever of them is read first).
CREATE FUNCTION otp_delivery_supersedes(new_status text, new_at timestamptz,
                                        old_status text, old_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT new_status IS NOT NULL AND (
    old_status IS NULL
    OR otp_delivery_rank(new_status) > otp_delivery_rank(old_status)
    OR (otp_delivery_rank(new_status) = otp_delivery_rank(old_status) AND new_at < old_at))
$$;

-- One row per verification, maintained by otp-audit from the events it newly inserted (a replay
-- changes nothing). Every column merges commutatively (LEAST/GREATEST, counts, precedence), so
-- events may arrive in any order: an approval read before the creation still ends as approved.
CREATE TABLE verifications (
  tenant text NOT NULL,
  verification_id text NOT NULL,
  -- From the earliest verification.created event; NULL until it has been seen.
  channel text,
  recipient_masked text,
  max_attempts integer,
  created_at timestamptz,
  -- The latest expiry announced (a resend may issue a new code).
  expires_at timestamptz,
  -- From verification.* events by otp_lifecycle_rank.
  lifecycle_status text NOT NULL DEFAULT 'pending'
    CONSTRAINT verifications_lifecycle_status_known
    CHECK (lifecycle_status IN ('pending', 'approved', 'canceled', 'max_attempts_reached', 'expired')),
  -- What dashboards and the API read: the lifecycle status, except that a still pending
  -- verification whose delivery finally failed or expired is 'failed'.
  status text GENERATED ALWAYS AS (
    CASE
      WHEN lifecycle_status = 'pending' AND delivery_status IN ('failed', 'expired') THEN 'failed'
      ELSE lifecycle_status
    END) STORED,
  approved_at timestamptz,
  -- Failed checks (verification.check_failed events).
  attempts integer NOT NULL DEFAULT 0,
  -- The latest event time seen, and when this row last changed.
  last_event_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The deciding delivery event by otp_delivery_rank (earliest among equals).
  delivery_status text
    CONSTRAINT verifications_delivery_status_known
    CHECK (delivery_status IN ('sent', 'failed', 'expired')),
  delivery_provider text,
  delivery_event_at timestamptz,
  -- From the earliest delivery.sent event.
  delivery_sent_at timestamptz,
  delivery_latency_ms bigint,
  PRIMARY KEY (tenant, verification_id)
);

COMMENT ON TABLE verifications IS
  'Projection of otp_events, one row per (tenant, verification_id), maintained by otp-audit. '
  'Never holds a code; recipients are masked.';

CREATE INDEX verifications_tenant_created_idx ON verifications (tenant, created_at);
CREATE INDEX verifications_tenant_status_idx ON verifications (tenant, status);
