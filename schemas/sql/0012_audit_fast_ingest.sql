-- 0012_audit_fast_ingest: a cheaper audit batch writer (docs/decisions/0008-audit-ingest.md).
--
-- 1. otp_events loses its primary key (id, occurred_at). It never guarded anything: an event's
--    time is not stable across replays, so the key could not stop a duplicate, and the
--    exactly-once guard has been otp_event_ids (one row per id, 0002) since partitioning.
--    Nothing looks events up by (id, occurred_at). One index fewer per stored event.
-- 2. otp_audit_write_batch, same signature and the same results as 0010's, does less per batch:
--    only delivery.status events run the receipt look-up, and the projection's "first"/"best"
--    facts come from one DISTINCT ON sort each instead of ~20 ordered aggregates per
--    verification.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

ALTER TABLE otp_events DROP CONSTRAINT otp_events_pkey;

-- One audit batch; see 0010_audit_ingest.sql for the contract (unchanged).
CREATE OR REPLACE FUNCTION otp_audit_write_batch(batch_rows jsonb, months timestamptz[],
                                      OUT inserted_events bigint, OUT projected_rows bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  sent_message_ids text[];
  late_rows bigint;
BEGIN
  PERFORM otp_ensure_event_partitions(m, m) FROM unnest(months) AS m;

  -- The caller sends each id once (the first occurrence of a repeated id): no sort here.
  WITH batch AS (
    SELECT e.*
    FROM jsonb_to_recordset(batch_rows) AS e(
      ord integer, id text, type text, source text, occurred_at timestamptz, tenant text,
      verification_id text, data jsonb, channel text, recipient_masked text, country text,
      number_prefix text, recipient_hash text, expires_at timestamptz, max_attempts integer,
      provider text, latency_ms bigint, segments integer, error_code text,
      provider_message_id text, policy text, receipt text)
  ),
  -- A delivery.status (webhook) names its message by provider and provider_message_id; the
  -- tenant may be unknown (empty). Found through the projection, else a delivery.sent of the
  -- same batch. A known tenant must match: a receipt never crosses tenants. Only receipts are
  -- looked up (0010 ran the look-up's plan for every event of the batch).
  receipt_matches AS (
    SELECT b.ord, r.tenant, r.verification_id
    FROM batch b
    CROSS JOIN LATERAL (
      SELECT x.tenant, x.verification_id FROM (
        SELECT v.tenant, v.verification_id, 0 AS pref
        FROM verifications v
        WHERE v.delivery_provider = b.provider
          AND v.delivery_provider_message_id = b.provider_message_id
        UNION ALL
        SELECT s.tenant, s.verification_id, 1
        FROM batch s
        WHERE s.type = 'delivery.sent' AND s.provider = b.provider
          AND s.provider_message_id = b.provider_message_id) x
      WHERE b.tenant = '' OR x.tenant = b.tenant
      ORDER BY x.pref, x.tenant, x.verification_id
      LIMIT 1) r
    WHERE b.type = 'delivery.status'
  ),
  resolved AS (
    SELECT b.ord, b.id, b.type, b.source, b.occurred_at,
      CASE WHEN r.tenant IS NOT NULL THEN r.tenant ELSE b.tenant END AS tenant,
      CASE WHEN r.tenant IS NOT NULL THEN r.verification_id ELSE b.verification_id END
        AS verification_id,
      b.data, b.channel, b.recipient_masked, b.country, b.number_prefix, b.recipient_hash,
      CASE
        WHEN b.type = 'verification.created' THEN b.expires_at
        WHEN b.type = 'verification.resent' AND b.policy = 'new' THEN b.expires_at
      END AS expires_at,
      b.max_attempts, b.provider, b.latency_ms, b.segments, b.error_code, b.provider_message_id,
      b.policy, b.receipt
    FROM batch b
    LEFT JOIN receipt_matches r ON r.ord = b.ord
  ),
  claimed AS (
    INSERT INTO otp_event_ids (id, occurred_at)
    SELECT id, occurred_at FROM resolved ORDER BY id
    ON CONFLICT (id) DO NOTHING
    RETURNING id
  ),
  inserted AS (
    INSERT INTO otp_events (id, type, source, occurred_at, tenant, verification_id, data)
    SELECT b.id, b.type, b.source, b.occurred_at, b.tenant, b.verification_id,
      -- An erased verification stays erased: later events do not bring the recipient back.
      CASE WHEN ve.erased_at IS NULL THEN b.data
           ELSE (b.data - 'recipient_hash')
             || CASE WHEN b.data ? 'recipient_masked'
                     THEN '{"recipient_masked": "[erased]"}'::jsonb ELSE '{}'::jsonb END
      END
    FROM resolved b
    JOIN claimed c ON c.id = b.id
    LEFT JOIN verifications ve
      ON ve.tenant = b.tenant AND ve.verification_id = b.verification_id
     AND ve.erased_at IS NOT NULL
    RETURNING id
  ),
  fresh AS (
    SELECT b.*,
      CASE b.type
        WHEN 'verification.created' THEN 'pending'
        WHEN 'verification.approved' THEN 'approved'
        WHEN 'verification.canceled' THEN 'canceled'
        WHEN 'verification.max_attempts_reached' THEN 'max_attempts_reached'
        WHEN 'verification.expired' THEN 'expired'
      END AS lifecycle_status,
      CASE b.type
        WHEN 'delivery.sent' THEN 'sent'
        WHEN 'delivery.failed' THEN 'failed'
        WHEN 'delivery.expired' THEN 'expired'
      END AS delivery_status
    FROM resolved b JOIN inserted i ON i.id = b.id
    -- An unresolved receipt (no tenant, no verification) is kept in otp_events only.
    WHERE b.tenant <> '' AND b.verification_id <> ''
  ),
  -- Each "first"/"best" fact of a verification comes from one event chosen by one sort
  -- (DISTINCT ON), not from an ordered aggregate per fact and verification (0010 ran ~20 small
  -- sorts per verification). The choice rules are 0010's: the earliest verification.created
  -- (occurred_at, id), the earliest delivery.sent, the deciding delivery event
  -- (otp_delivery_rank desc, earliest), the best receipt (otp_receipt_rank desc, latest).
  created AS (
    SELECT DISTINCT ON (tenant, verification_id) tenant, verification_id, channel,
      recipient_masked, country, number_prefix, recipient_hash, max_attempts,
      occurred_at AS created_at
    FROM fresh
    WHERE type = 'verification.created'
    ORDER BY tenant, verification_id, occurred_at, id
  ),
  sent AS (
    SELECT DISTINCT ON (tenant, verification_id) tenant, verification_id,
      occurred_at AS delivery_sent_at, latency_ms AS delivery_latency_ms,
      provider_message_id AS delivery_provider_message_id, segments AS delivery_segments
    FROM fresh
    WHERE type = 'delivery.sent'
    ORDER BY tenant, verification_id, occurred_at, id
  ),
  decided AS (
    SELECT DISTINCT ON (tenant, verification_id) tenant, verification_id, delivery_status,
      provider AS delivery_provider, occurred_at AS delivery_event_at,
      error_code AS delivery_error_code
    FROM fresh
    WHERE delivery_status IS NOT NULL
    ORDER BY tenant, verification_id, otp_delivery_rank(delivery_status) DESC, occurred_at, id
  ),
  receipts AS (
    SELECT DISTINCT ON (tenant, verification_id) tenant, verification_id,
      receipt AS delivery_receipt, occurred_at AS delivery_receipt_at,
      error_code AS delivery_receipt_error_code
    FROM fresh
    WHERE type = 'delivery.status' AND receipt IS NOT NULL
    ORDER BY tenant, verification_id, otp_receipt_rank(receipt) DESC, occurred_at DESC, id
  ),
  totals AS (
    SELECT tenant, verification_id,
      max(expires_at) AS expires_at,
      -- The lifecycle status of highest otp_lifecycle_rank (ranks 1..4, see 0001); none: pending.
      max(otp_lifecycle_rank(lifecycle_status)) FILTER (WHERE lifecycle_status IS NOT NULL)
        AS lifecycle_rank,
      min(occurred_at) FILTER (WHERE type = 'verification.approved') AS approved_at,
      count(*) FILTER (WHERE type = 'verification.check_failed') AS attempts,
      count(*) FILTER (WHERE type = 'verification.resent') AS resends,
      max(occurred_at) AS last_event_at
    FROM fresh
    GROUP BY tenant, verification_id
  ),
  per_verification AS (
    SELECT t.tenant, t.verification_id, c.channel, c.recipient_masked, c.country,
      c.number_prefix, c.recipient_hash, c.max_attempts, c.created_at, t.expires_at,
      COALESCE((ARRAY['expired', 'max_attempts_reached', 'canceled', 'approved'])
                 [t.lifecycle_rank], 'pending') AS lifecycle_status,
      t.approved_at, t.attempts, t.resends, t.last_event_at,
      d.delivery_status, d.delivery_provider, d.delivery_event_at, d.delivery_error_code,
      s.delivery_sent_at, s.delivery_latency_ms, s.delivery_provider_message_id,
      s.delivery_segments, r.delivery_receipt, r.delivery_receipt_at,
      r.delivery_receipt_error_code
    FROM totals t
    LEFT JOIN created c USING (tenant, verification_id)
    LEFT JOIN sent s USING (tenant, verification_id)
    LEFT JOIN decided d USING (tenant, verification_id)
    LEFT JOIN receipts r USING (tenant, verification_id)
  ),
  projected AS (
    INSERT INTO verifications AS v (
      tenant, verification_id, channel, recipient_masked, country, number_prefix, recipient_hash,
      max_attempts, created_at, expires_at, lifecycle_status, approved_at, attempts, resends,
      last_event_at, updated_at, delivery_status, delivery_provider, delivery_event_at,
      delivery_error_code, delivery_sent_at, delivery_latency_ms, delivery_provider_message_id,
      delivery_segments, delivery_receipt, delivery_receipt_at, delivery_receipt_error_code)
    SELECT tenant, verification_id, channel, recipient_masked, country, number_prefix,
      recipient_hash, max_attempts, created_at, expires_at, lifecycle_status, approved_at,
      attempts, resends, last_event_at, now(), delivery_status, delivery_provider,
      delivery_event_at, delivery_error_code, delivery_sent_at, delivery_latency_ms,
      delivery_provider_message_id, delivery_segments, delivery_receipt, delivery_receipt_at,
      delivery_receipt_error_code
    FROM per_verification
    ORDER BY tenant, verification_id
    ON CONFLICT (tenant, verification_id) DO UPDATE SET
      channel = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                     THEN COALESCE(EXCLUDED.channel, v.channel) ELSE v.channel END,
      recipient_masked = CASE
        WHEN v.erased_at IS NOT NULL THEN v.recipient_masked
        WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
        THEN COALESCE(EXCLUDED.recipient_masked, v.recipient_masked)
        ELSE v.recipient_masked END,
      country = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                     THEN COALESCE(EXCLUDED.country, v.country) ELSE v.country END,
      number_prefix = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                     THEN COALESCE(EXCLUDED.number_prefix, v.number_prefix)
                     ELSE v.number_prefix END,
      recipient_hash = CASE
        WHEN v.erased_at IS NOT NULL THEN NULL
        WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
        THEN COALESCE(EXCLUDED.recipient_hash, v.recipient_hash)
        ELSE v.recipient_hash END,
      max_attempts = CASE WHEN EXCLUDED.created_at < v.created_at OR v.created_at IS NULL
                     THEN COALESCE(EXCLUDED.max_attempts, v.max_attempts)
                     ELSE v.max_attempts END,
      created_at = LEAST(v.created_at, EXCLUDED.created_at),
      expires_at = GREATEST(v.expires_at, EXCLUDED.expires_at),
      lifecycle_status = CASE
        WHEN otp_lifecycle_rank(EXCLUDED.lifecycle_status) > otp_lifecycle_rank(v.lifecycle_status)
        THEN EXCLUDED.lifecycle_status ELSE v.lifecycle_status END,
      approved_at = LEAST(v.approved_at, EXCLUDED.approved_at),
      attempts = v.attempts + EXCLUDED.attempts,
      resends = v.resends + EXCLUDED.resends,
      last_event_at = GREATEST(v.last_event_at, EXCLUDED.last_event_at),
      updated_at = now(),
      delivery_status = CASE
        WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                     v.delivery_status, v.delivery_event_at)
        THEN EXCLUDED.delivery_status ELSE v.delivery_status END,
      delivery_provider = CASE
        WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                     v.delivery_status, v.delivery_event_at)
        THEN EXCLUDED.delivery_provider ELSE v.delivery_provider END,
      delivery_error_code = CASE
        WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                     v.delivery_status, v.delivery_event_at)
        THEN EXCLUDED.delivery_error_code ELSE v.delivery_error_code END,
      delivery_event_at = CASE
        WHEN otp_delivery_supersedes(EXCLUDED.delivery_status, EXCLUDED.delivery_event_at,
                                     v.delivery_status, v.delivery_event_at)
        THEN EXCLUDED.delivery_event_at ELSE v.delivery_event_at END,
      delivery_sent_at = LEAST(v.delivery_sent_at, EXCLUDED.delivery_sent_at),
      delivery_latency_ms = CASE
        WHEN EXCLUDED.delivery_sent_at < v.delivery_sent_at OR v.delivery_sent_at IS NULL
        THEN COALESCE(EXCLUDED.delivery_latency_ms, v.delivery_latency_ms)
        ELSE v.delivery_latency_ms END,
      delivery_provider_message_id = CASE
        WHEN EXCLUDED.delivery_sent_at < v.delivery_sent_at OR v.delivery_sent_at IS NULL
        THEN COALESCE(EXCLUDED.delivery_provider_message_id, v.delivery_provider_message_id)
        ELSE v.delivery_provider_message_id END,
      delivery_segments = CASE
        WHEN EXCLUDED.delivery_sent_at < v.delivery_sent_at OR v.delivery_sent_at IS NULL
        THEN COALESCE(EXCLUDED.delivery_segments, v.delivery_segments)
        ELSE v.delivery_segments END,
      delivery_receipt = CASE
        WHEN EXCLUDED.delivery_receipt IS NOT NULL AND (v.delivery_receipt IS NULL
          OR otp_receipt_rank(EXCLUDED.delivery_receipt) > otp_receipt_rank(v.delivery_receipt)
          OR (otp_receipt_rank(EXCLUDED.delivery_receipt) = otp_receipt_rank(v.delivery_receipt)
              AND EXCLUDED.delivery_receipt_at > v.delivery_receipt_at))
        THEN EXCLUDED.delivery_receipt ELSE v.delivery_receipt END,
      delivery_receipt_error_code = CASE
        WHEN EXCLUDED.delivery_receipt IS NOT NULL AND (v.delivery_receipt IS NULL
          OR otp_receipt_rank(EXCLUDED.delivery_receipt) > otp_receipt_rank(v.delivery_receipt)
          OR (otp_receipt_rank(EXCLUDED.delivery_receipt) = otp_receipt_rank(v.delivery_receipt)
              AND EXCLUDED.delivery_receipt_at > v.delivery_receipt_at))
        THEN EXCLUDED.delivery_receipt_error_code ELSE v.delivery_receipt_error_code END,
      delivery_receipt_at = CASE
        WHEN EXCLUDED.delivery_receipt IS NOT NULL AND (v.delivery_receipt IS NULL
          OR otp_receipt_rank(EXCLUDED.delivery_receipt) > otp_receipt_rank(v.delivery_receipt)
          OR (otp_receipt_rank(EXCLUDED.delivery_receipt) = otp_receipt_rank(v.delivery_receipt)
              AND EXCLUDED.delivery_receipt_at > v.delivery_receipt_at))
        THEN EXCLUDED.delivery_receipt_at ELSE v.delivery_receipt_at END
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM projected),
    (SELECT array_agg(provider_message_id) FROM fresh
     WHERE type = 'delivery.sent' AND provider_message_id IS NOT NULL)
  INTO inserted_events, projected_rows, sent_message_ids;

  -- Receipts that arrived before the delivery.sent this batch just stored: give them their
  -- tenant and verification now, and fold them in (the same rule as above), so the outcome does
  -- not depend on which arrived first. Each such receipt is matched once (then it has a
  -- verification id); a replay inserts nothing, so it matches nothing.
  IF sent_message_ids IS NOT NULL THEN
    WITH late AS (
      UPDATE otp_events e
      SET tenant = v.tenant, verification_id = v.verification_id
      FROM verifications v
      WHERE e.type = 'delivery.status' AND e.verification_id = ''
        AND (e.data ->> 'provider_message_id') = ANY (sent_message_ids)
        AND v.delivery_provider = e.data ->> 'provider'
        AND v.delivery_provider_message_id = e.data ->> 'provider_message_id'
        AND (e.tenant = '' OR e.tenant = v.tenant)
      RETURNING e.tenant, e.verification_id, e.occurred_at, e.data ->> 'status' AS receipt,
        e.data ->> 'error_code' AS error_code
    ),
    best AS (
      SELECT DISTINCT ON (tenant, verification_id) *
      FROM late
      WHERE receipt IS NOT NULL
      ORDER BY tenant, verification_id, otp_receipt_rank(receipt) DESC, occurred_at DESC
    )
    UPDATE verifications v
    SET delivery_receipt = b.receipt, delivery_receipt_at = b.occurred_at,
        delivery_receipt_error_code = b.error_code,
        last_event_at = GREATEST(v.last_event_at, b.occurred_at), updated_at = now()
    FROM best b
    WHERE v.tenant = b.tenant AND v.verification_id = b.verification_id
      AND (v.delivery_receipt IS NULL
           OR otp_receipt_rank(b.receipt) > otp_receipt_rank(v.delivery_receipt)
           OR (otp_receipt_rank(b.receipt) = otp_receipt_rank(v.delivery_receipt)
               AND b.occurred_at > v.delivery_receipt_at));
    GET DIAGNOSTICS late_rows = ROW_COUNT;
    projected_rows := projected_rows + late_rows;
  END IF;
END
$fn$;
