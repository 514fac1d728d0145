-- 0011_delivery_attempt_errors: since the delivery engine (issue 5), a failed provider attempt
-- that does not end the job (a retry or a failover follows) is a delivery.attempted event, and
-- delivery.failed is terminal for the job. Both are provider errors: the quality and error views
-- count them together, so a provider's failures still show when another provider saved the
-- message. Same columns as before (views only add, never rename or drop).
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

CREATE OR REPLACE VIEW report_delivery_quality AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
  e.data ->> 'provider' AS provider,
  COALESCE(e.data ->> 'channel', v.channel) AS channel,
  v.country,
  count(*) FILTER (WHERE e.type = 'delivery.sent') AS sent,
  count(*) FILTER (WHERE e.type IN ('delivery.failed', 'delivery.attempted')) AS failed,
  count(*) FILTER (WHERE e.type = 'delivery.expired') AS expired,
  round(count(*) FILTER (WHERE e.type = 'delivery.sent')::numeric
        / NULLIF(count(*) FILTER (WHERE e.type IN ('delivery.sent', 'delivery.failed',
                                                   'delivery.attempted')), 0),
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
WHERE e.type IN ('delivery.sent', 'delivery.failed', 'delivery.attempted', 'delivery.expired')
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE VIEW report_delivery_errors AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
  e.data ->> 'provider' AS provider,
  e.data ->> 'channel' AS channel,
  CASE WHEN e.type IN ('delivery.failed', 'delivery.attempted') THEN 'attempt' ELSE 'receipt' END
    AS stage,
  COALESCE(e.data ->> 'error_code', '') AS error_code,
  count(*) AS failures
FROM otp_events e
WHERE e.type IN ('delivery.failed', 'delivery.attempted')
   OR (e.type = 'delivery.status'
       AND e.data ->> 'status' IN ('undelivered', 'failed', 'rejected', 'expired'))
GROUP BY 1, 2, 3, 4, 5;
