-- 0010_audit_views: reporting views that read the delivery facts events now carry (segments,
-- provider, latency_ms, error_code on delivery.attempted/sent/failed/expired; receipts from
-- provider webhooks as delivery.status). Views only add, never rename or drop (docs/operations.md).
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

-- Delivery failures per day, provider, channel and error code (all tenants): failed attempts
-- (delivery.failed) and negative receipts (delivery.status undelivered/failed/rejected/expired),
-- so a provider's error codes can be compared over time.
CREATE VIEW report_delivery_errors AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
  e.data ->> 'provider' AS provider,
  e.data ->> 'channel' AS channel,
  CASE WHEN e.type = 'delivery.failed' THEN 'attempt' ELSE 'receipt' END AS stage,
  COALESCE(e.data ->> 'error_code', '') AS error_code,
  count(*) AS failures
FROM otp_events e
WHERE e.type = 'delivery.failed'
   OR (e.type = 'delivery.status'
       AND e.data ->> 'status' IN ('undelivered', 'failed', 'rejected', 'expired'))
GROUP BY 1, 2, 3, 4, 5;

-- Delivery receipts per day (of the send), tenant and provider, from the projection: of the
-- messages a provider accepted, how many it reported delivered, and how many it reported lost.
CREATE VIEW report_delivery_receipts AS
SELECT (delivery_sent_at AT TIME ZONE 'UTC')::date AS day,
  tenant,
  delivery_provider AS provider,
  count(*) AS sent,
  count(*) FILTER (WHERE delivery_receipt = 'delivered') AS delivered,
  count(*) FILTER (WHERE delivery_receipt IN ('undelivered', 'failed', 'rejected', 'expired'))
    AS undelivered,
  count(*) FILTER (WHERE delivery_receipt IS NULL) AS without_receipt,
  round(count(*) FILTER (WHERE delivery_receipt = 'delivered')::numeric
        / NULLIF(count(*) FILTER (WHERE delivery_receipt IS NOT NULL), 0), 4) AS delivered_rate
FROM verifications
WHERE delivery_sent_at IS NOT NULL
GROUP BY 1, 2, 3;
