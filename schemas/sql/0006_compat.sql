-- 0006_compat: the tenant the seed-compatibility routes act for (services/intake, "Compatibility
-- routes" in docs/http-api.md; OTP_COMPAT_TENANT, default `compat`), a per-tenant switch to show
-- directory contacts in clear, and the seed-000 directory rows for the dev stack.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

-- Seed 000 answers the email address it sent the code to. We mask it (a******8@gmail.com)
-- unless the tenant opts in here.
ALTER TABLE tenants ADD COLUMN reveal_contacts boolean NOT NULL DEFAULT false;

-- Seed 002's documented defaults: 5 verification trials counted per user across sends (the
-- generator's consecutive-failure lock at 5, and 5 attempts per code), SMS and email (seed 000).
-- Still to come from the generator's migrations (requests G3/G4): the fixed 30 min lock
-- (failure_lock_seconds = 1800) and the 30 s code TTL (ttl_seconds allows 60 s at least today).
INSERT INTO tenants (id, name, ttl_seconds, max_attempts, failure_lock_threshold,
                     allowed_channels)
VALUES ('compat', 'Seed compatibility routes', 60, 5, 5, '{sms,email}')
ON CONFLICT (id) DO NOTHING;

-- Seed 000's user table (its README, "Database"), for the dev stack and the compat tests.
-- Operators replace these with their own users.
INSERT INTO directory (tenant_id, mobile, email) VALUES
  ('compat', '9657329173', 'ap8548328@gmail.com'),
  ('compat', '9699883753', 'adi.akolkar12@gmail.com')
ON CONFLICT (tenant_id, mobile) DO NOTHING;
