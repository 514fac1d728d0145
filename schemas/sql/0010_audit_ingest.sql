-- 0010_audit_ingest: the audit writer's batch as one server-side function (its plan is cached per
-- connection: no planning per batch, one statement per batch), and projection facts it now keeps:
-- the expiry a resend announces, delivery receipts from provider webhooks (delivery.status),
-- segments and error codes of deliveries, and an erasure mark that later events respect.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

ALTER TABLE verifications
  -- Resends seen (verification.resent).
  ADD COLUMN resends integer NOT NULL DEFAULT 0,
  -- From the earliest delivery.sent: the provider's message id and the billed segments.
  ADD COLUMN delivery_provider_message_id text,
  ADD COLUMN delivery_segments integer,
  -- The error code of the deciding delivery event when it is a failure.
  ADD COLUMN delivery_error_code text,
  -- The provider's delivery receipt (delivery.status from its webhook): a final receipt
  -- (delivered, undelivered, failed, rejected, expired) beats an intermediate one (queued, sent,
  -- accepted, ...); among equals the latest wins.
  ADD COLUMN delivery_receipt text,
  ADD COLUMN delivery_receipt_at timestamptz,
  ADD COLUMN delivery_receipt_error_code text,
  -- Set by otp_erase_recipient: events ingested afterwards never bring the recipient back.
  ADD COLUMN erased_at timestamptz;

-- delivery.status events name the message by the provider's id only (the webhook may not know
-- the tenant): the writer finds the verification through this index.
CREATE INDEX verifications_provider_message_idx
  ON verifications (delivery_provider, delivery_provider_message_id)
  WHERE delivery_provider_message_id IS NOT NULL;

-- The writer masks events of erased verifications: erased rows are few, so this stays tiny.
CREATE INDEX verifications_erased_idx ON verifications (tenant, verification_id)
  WHERE erased_at IS NOT NULL;

-- Receipts stored before their delivery.sent was ingested (another partition, another writer):
-- found again when that delivery.sent arrives. Such rows are rare, so the index stays tiny.
CREATE INDEX otp_events_unmatched_receipts_idx
  ON otp_events ((data ->> 'provider_message_id'))
  WHERE type = 'delivery.status' AND verification_id = '';

CREATE FUNCTION otp_receipt_rank(receipt text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN receipt IS NULL THEN -1
    WHEN receipt IN ('delivered', 'undelivered', 'failed', 'rejected', 'expired') THEN 2
    ELSE 1
  END
$$;

-- Same as 0003, plus the erasure mark.
CREATE OR REPLACE FUNCTION otp_erase_recipient(target_tenant text, hash text,
                                               OUT verifications_erased bigint,
                                               OUT events_erased bigint)
LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
BEGIN
  WITH erased AS (
    UPDATE verifications
    SET recipient_masked = CASE WHEN recipient_masked IS NULL THEN NULL ELSE '[erased]' END,
        recipient_hash = NULL,
        erased_at = COALESCE(erased_at, now()),
        updated_at = now()
    WHERE tenant = target_tenant AND recipient_hash = hash
    RETURNING verification_id)
  SELECT array_agg(verification_id) INTO ids FROM erased;
  verifications_erased := COALESCE(cardinality(ids), 0);

  UPDATE otp_events e
  SET data = (e.data - 'recipient_hash')
    || CASE WHEN e.data ? 'recipient_masked' THEN '{"recipient_masked": "[erased]"}'::jsonb
            ELSE '{}'::jsonb END
  WHERE e.tenant = target_tenant
    AND (e.verification_id = ANY (COALESCE(ids, '{}')) OR e.data ->> 'recipient_hash' = hash)
    AND (e.data ? 'recipient_hash'
         OR (e.data ? 'recipient_masked' AND e.data ->> 'recipient_masked' <> '[erased]'));
  GET DIAGNOSTICS events_erased = ROW_COUNT;
END
$$;

-- One audit batch (services/audit/pg_event_store.cc builds `batch_rows`, each event id once; `months` are the first
-- instants of the months its events fall in). Creates missing partitions, claims the event ids
-- in otp_event_ids (the exactly-once guard), inserts only the claimed events into otp_events and
-- folds only those into verifications. Returns how many events were new and how many
-- projection rows changed. Every merge rule is commutative, so batch boundaries and arrival
-- order do not matter; rows are touched in key order so concurrent writers do not deadlock.
CREATE FUNCTION otp_audit_write_batch(batch_rows jsonb, months timestamptz[],
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
  -- same batch. A known tenant must match: a receipt never crosses tenants.
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
    -- The outer row's type is a one-time filter inside: other events never scan anything.
    LEFT JOIN LATERAL (
      SELECT x.tenant, x.verification_id FROM (
        SELECT v.tenant, v.verification_id, 0 AS pref
        FROM verifications v
        WHERE b.type = 'delivery.status'
          AND v.delivery_provider = b.provider
          AND v.delivery_provider_message_id = b.provider_message_id
        UNION ALL
        SELECT s.tenant, s.verification_id, 1
        FROM batch s
        WHERE b.type = 'delivery.status'
          AND s.type = 'delivery.sent' AND s.provider = b.provider
          AND s.provider_message_id = b.provider_message_id) x
      WHERE b.tenant = '' OR x.tenant = b.tenant
      ORDER BY x.pref, x.tenant, x.verification_id
      LIMIT 1) r ON true
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
  per_verification AS (
    SELECT tenant, verification_id,
      (array_agg(channel ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS channel,
      (array_agg(recipient_masked ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS recipient_masked,
      (array_agg(country ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS country,
      (array_agg(number_prefix ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS number_prefix,
      (array_agg(recipient_hash ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS recipient_hash,
      (array_agg(max_attempts ORDER BY occurred_at, id)
         FILTER (WHERE type = 'verification.created'))[1] AS max_attempts,
      min(occurred_at) FILTER (WHERE type = 'verification.created') AS created_at,
      max(expires_at) AS expires_at,
      COALESCE((array_agg(lifecycle_status ORDER BY otp_lifecycle_rank(lifecycle_status) DESC)
         FILTER (WHERE lifecycle_status IS NOT NULL))[1], 'pending') AS lifecycle_status,
      min(occurred_at) FILTER (WHERE type = 'verification.approved') AS approved_at,
      count(*) FILTER (WHERE type = 'verification.check_failed') AS attempts,
      count(*) FILTER (WHERE type = 'verification.resent') AS resends,
      max(occurred_at) AS last_event_at,
      (array_agg(delivery_status ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
         FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_status,
      (array_agg(provider ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
         FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_provider,
      (array_agg(occurred_at ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
         FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_event_at,
      (array_agg(error_code ORDER BY otp_delivery_rank(delivery_status) DESC, occurred_at, id)
         FILTER (WHERE delivery_status IS NOT NULL))[1] AS delivery_error_code,
      min(occurred_at) FILTER (WHERE type = 'delivery.sent') AS delivery_sent_at,
      (array_agg(latency_ms ORDER BY occurred_at, id)
         FILTER (WHERE type = 'delivery.sent'))[1] AS delivery_latency_ms,
      (array_agg(provider_message_id ORDER BY occurred_at, id)
         FILTER (WHERE type = 'delivery.sent'))[1] AS delivery_provider_message_id,
      (array_agg(segments ORDER BY occurred_at, id)
         FILTER (WHERE type = 'delivery.sent'))[1] AS delivery_segments,
      (array_agg(receipt ORDER BY otp_receipt_rank(receipt) DESC, occurred_at DESC, id)
         FILTER (WHERE type = 'delivery.status' AND receipt IS NOT NULL))[1] AS delivery_receipt,
      (array_agg(occurred_at ORDER BY otp_receipt_rank(receipt) DESC, occurred_at DESC, id)
         FILTER (WHERE type = 'delivery.status' AND receipt IS NOT NULL))[1]
        AS delivery_receipt_at,
      (array_agg(error_code ORDER BY otp_receipt_rank(receipt) DESC, occurred_at DESC, id)
         FILTER (WHERE type = 'delivery.status' AND receipt IS NOT NULL))[1]
        AS delivery_receipt_error_code
    FROM fresh
    GROUP BY tenant, verification_id
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
