-- 0003_reporting_views: the reporting views that dashboards read (a stable contract, see
-- docs/operations.md "Reporting views"), the SMS price list behind the cost estimate, and the
-- erase-by-recipient function behind `otpctl erase`.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.
-- Days are UTC calendar days. Views only add columns in later migrations, never rename or drop.

-- Price of one SMS segment by destination country (ISO 3166-1 alpha-2), in the operator's
-- accounting currency; the row '*' is the price for every country without its own row.
CREATE TABLE sms_prices (
  country text PRIMARY KEY CONSTRAINT sms_prices_country_format CHECK (country ~ '^([A-Z]{2}|\*)$'),
  price_per_segment numeric(12, 6) NOT NULL CONSTRAINT sms_prices_not_negative
    CHECK (price_per_segment >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE sms_prices IS
  'Price per SMS segment by country (''*'' = any other country), for report_sms_cost.';

-- Verifications created per day, tenant and channel, with how they ended so far.
CREATE VIEW report_daily_volume AS
SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
  tenant,
  channel,
  count(*) AS verifications,
  count(*) FILTER (WHERE delivery_sent_at IS NOT NULL) AS delivered,
  count(*) FILTER (WHERE status = 'approved') AS approved,
  count(*) FILTER (WHERE status = 'failed') AS failed
FROM verifications
WHERE created_at IS NOT NULL
GROUP BY 1, 2, 3;

-- Delivery attempts per day, provider, channel and destination country (over all tenants:
-- delivery quality is a property of the provider): outcomes, success rate = sent / (sent +
-- failed), and provider latency percentiles (ms) of the successful sends. delivery.expired
-- events (dropped at their deadline, never handed to a provider) have provider NULL.
CREATE VIEW report_delivery_quality AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
  e.data ->> 'provider' AS provider,
  COALESCE(e.data ->> 'channel', v.channel) AS channel,
  v.country,
  count(*) FILTER (WHERE e.type = 'delivery.sent') AS sent,
  count(*) FILTER (WHERE e.type = 'delivery.failed') AS failed,
  count(*) FILTER (WHERE e.type = 'delivery.expired') AS expired,
  round(count(*) FILTER (WHERE e.type = 'delivery.sent')::numeric
        / NULLIF(count(*) FILTER (WHERE e.type IN ('delivery.sent', 'delivery.failed')), 0),
        4) AS success_rate,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY l.latency_ms) AS latency_p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY l.latency_ms) AS latency_p95_ms,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY l.latency_ms) AS latency_p99_ms
FROM otp_events e
LEFT JOIN verifications v ON v.tenant = e.tenant AND v.verification_id = e.verification_id
-- A latency that is not a JSON number is ignored rather than failing the whole query.
CROSS JOIN LATERAL (
  SELECT CASE WHEN e.type = 'delivery.sent' AND jsonb_typeof(e.data -> 'latency_ms') = 'number'
              THEN (e.data ->> 'latency_ms')::numeric END AS latency_ms) l
WHERE e.type IN ('delivery.sent', 'delivery.failed', 'delivery.expired')
GROUP BY 1, 2, 3, 4;

-- Send-to-verify conversion per day (of creation), tenant, country and number prefix: of the
-- verifications whose code was delivered, how many were approved.
CREATE VIEW report_conversion AS
SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
  tenant,
  country,
  number_prefix,
  count(*) AS verifications,
  count(*) FILTER (WHERE delivery_sent_at IS NOT NULL) AS sent,
  count(*) FILTER (WHERE delivery_sent_at IS NOT NULL AND lifecycle_status = 'approved')
    AS verified,
  round(count(*) FILTER (WHERE delivery_sent_at IS NOT NULL AND lifecycle_status = 'approved')
        ::numeric / NULLIF(count(*) FILTER (WHERE delivery_sent_at IS NOT NULL), 0),
        4) AS conversion_rate
FROM verifications
WHERE created_at IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- Abuse signal: delivered codes never verified, per day, tenant, country and number prefix
-- (SMS pumping shows as prefixes with many sends and few approvals). Only rows with at least
-- one unverified send; order by unverified_sends for the top prefixes.
CREATE VIEW report_unverified_sends AS
SELECT day, tenant, country, number_prefix, sent,
  sent - verified AS unverified_sends,
  round((sent - verified)::numeric / sent, 4) AS unverified_ratio
FROM report_conversion
WHERE sent > verified;

-- Abuse signal: locks per day, tenant, kind and number prefix. Kinds: a verification that hit
-- its attempt limit (verification.max_attempts_reached) and a recipient locked out by the rate
-- rules (recipient.locked). Country and prefix come from the event when it has them, otherwise
-- from its verification.
CREATE VIEW report_locks AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
  e.tenant,
  e.type AS lock_type,
  COALESCE(e.data ->> 'country', v.country) AS country,
  COALESCE(e.data ->> 'number_prefix', v.number_prefix) AS number_prefix,
  count(*) AS locks
FROM otp_events e
LEFT JOIN verifications v ON v.tenant = e.tenant AND v.verification_id = e.verification_id
WHERE e.type IN ('verification.max_attempts_reached', 'recipient.locked')
GROUP BY 1, 2, 3, 4, 5;

-- Cost estimate of SMS deliveries per day, tenant and country: segments from delivery.sent
-- (data.segments, 1 when absent or not a number, whole segments, at least 1) times the price
-- per segment of sms_prices (the country's row, else '*'; NULL cost when neither exists).
CREATE VIEW report_sms_cost AS
SELECT s.day, s.tenant, s.country,
  count(*) AS messages,
  sum(s.segments) AS segments,
  price.price_per_segment,
  sum(s.segments) * price.price_per_segment AS estimated_cost
FROM (
  SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
    e.tenant,
    v.country,
    CASE WHEN jsonb_typeof(e.data -> 'segments') = 'number'
         THEN GREATEST(1, ceil((e.data ->> 'segments')::numeric)) ELSE 1 END AS segments
  FROM otp_events e
  LEFT JOIN verifications v ON v.tenant = e.tenant AND v.verification_id = e.verification_id
  WHERE e.type = 'delivery.sent' AND COALESCE(e.data ->> 'channel', v.channel) = 'sms'
) s
LEFT JOIN LATERAL (
  SELECT p.price_per_segment FROM sms_prices p
  WHERE p.country = s.country OR p.country = '*'
  ORDER BY p.country = '*'
  LIMIT 1) price ON true
GROUP BY s.day, s.tenant, s.country, price.price_per_segment;

-- Erase a recipient for a privacy request: in `target_tenant`, every verification with
-- recipient hash `hash` keeps its counts and outcome but loses its recipient identifiers
-- (recipient_masked '[erased]', recipient_hash NULL), and so do the stored events of those
-- verifications and any event carrying that hash (data.recipient_masked '[erased]',
-- data.recipient_hash removed). Returns how many rows of each table changed. Idempotent.
CREATE FUNCTION otp_erase_recipient(target_tenant text, hash text,
                                    OUT verifications_erased bigint, OUT events_erased bigint)
LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
BEGIN
  WITH erased AS (
    UPDATE verifications
    SET recipient_masked = CASE WHEN recipient_masked IS NULL THEN NULL ELSE '[erased]' END,
        recipient_hash = NULL,
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
