-- Per-tenant OTP rules, read by otp-generator (services/generator/README.md, "Tenant settings").
-- Every column has a default, so existing tenants keep today's behaviour. The generator caches
-- the table and re-reads it every OTP_TENANT_REFRESH_MS: an UPDATE applies without a restart.
ALTER TABLE tenants
  ADD COLUMN code_length integer NOT NULL DEFAULT 6
    CONSTRAINT tenants_code_length CHECK (code_length BETWEEN 4 AND 10),
  ADD COLUMN ttl_seconds integer NOT NULL DEFAULT 600
    CONSTRAINT tenants_ttl_seconds CHECK (ttl_seconds BETWEEN 60 AND 86400),
  ADD COLUMN max_attempts integer NOT NULL DEFAULT 5
    CONSTRAINT tenants_max_attempts CHECK (max_attempts BETWEEN 1 AND 10),
  -- new: a resend draws a new code and revokes the old one; same: the same code is sent again.
  ADD COLUMN resend_policy text NOT NULL DEFAULT 'new'
    CONSTRAINT tenants_resend_policy CHECK (resend_policy IN ('new', 'same')),
  ADD COLUMN resend_cooldown_seconds integer NOT NULL DEFAULT 30
    CONSTRAINT tenants_resend_cooldown CHECK (resend_cooldown_seconds BETWEEN 0 AND 3600),
  -- At most sends_per_destination codes per recipient per window_seconds.
  ADD COLUMN sends_per_destination integer NOT NULL DEFAULT 5
    CONSTRAINT tenants_sends_per_destination CHECK (sends_per_destination BETWEEN 1 AND 1000),
  ADD COLUMN window_seconds integer NOT NULL DEFAULT 600
    CONSTRAINT tenants_window_seconds CHECK (window_seconds BETWEEN 1 AND 86400),
  -- Consecutive failed checks per subject before it is locked (with a growing lock).
  ADD COLUMN failure_lock_threshold integer NOT NULL DEFAULT 100
    CONSTRAINT tenants_failure_lock_threshold CHECK (failure_lock_threshold BETWEEN 1 AND 100000),
  ADD COLUMN allowed_channels text[] NOT NULL DEFAULT '{sms,email,whatsapp}'
    CONSTRAINT tenants_allowed_channels
      CHECK (allowed_channels <@ ARRAY['sms', 'email', 'whatsapp']::text[]),
  -- ISO 3166-1 alpha-2 regions (libphonenumber's) of phone recipients; NULL = every country.
  ADD COLUMN allowed_countries text[]
    CONSTRAINT tenants_allowed_countries
      CHECK (allowed_countries IS NULL OR array_to_string(allowed_countries, ',') ~ '^([A-Z]{2}(,|$))*$'),
  -- {"+15005550006": "123456"}: E.164 number -> fixed code (4-10 digits). Codes for these
  -- numbers are stored as usual but never handed to a provider.
  ADD COLUMN test_numbers jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT tenants_test_numbers CHECK (jsonb_typeof(test_numbers) = 'object'),
  -- Token bucket over all of a tenant's sends: refill rate and capacity.
  ADD COLUMN send_rate_per_second double precision NOT NULL DEFAULT 50
    CONSTRAINT tenants_send_rate CHECK (send_rate_per_second > 0 AND send_rate_per_second <= 100000),
  ADD COLUMN send_burst integer NOT NULL DEFAULT 100
    CONSTRAINT tenants_send_burst CHECK (send_burst BETWEEN 1 AND 1000000);
