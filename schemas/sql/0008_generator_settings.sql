-- otp-generator tenant settings, second batch (services/generator/README.md, "Tenant settings").
-- Both have defaults that keep today's behaviour.
ALTER TABLE tenants
  -- Channels the delivery worker falls back to, in order, after the requested channel failed
  -- for good. Only channels that are allowed and fit the recipient (phone: sms, whatsapp;
  -- email: email) are put on a delivery job.
  ADD COLUMN channel_fallback text[] NOT NULL DEFAULT '{}'
    CONSTRAINT tenants_channel_fallback
      CHECK (channel_fallback <@ ARRAY['sms', 'email', 'whatsapp']::text[]),
  -- A fixed lock (seconds) once failure_lock_threshold consecutive checks failed; NULL = the
  -- growing lock (60 s, doubling with each further lock, at most 24 h).
  ADD COLUMN failure_lock_seconds integer
    CONSTRAINT tenants_failure_lock_seconds
      CHECK (failure_lock_seconds IS NULL OR failure_lock_seconds BETWEEN 1 AND 86400);

-- Codes may live as short as 10 s (seed 002's otp-timeout is 30 s).
ALTER TABLE tenants
  DROP CONSTRAINT tenants_ttl_seconds,
  ADD CONSTRAINT tenants_ttl_seconds CHECK (ttl_seconds BETWEEN 10 AND 86400);

-- The seed-002 compatibility tenant (created by 0006_compat.sql, if present): codes live 30 s,
-- and 5 consecutive failures lock the number for a fixed 30 minutes.
UPDATE tenants SET ttl_seconds = 30, failure_lock_seconds = 1800 WHERE id = 'compat';
