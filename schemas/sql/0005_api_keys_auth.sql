-- 0005_api_keys_auth: what the intake's authentication needs from api_keys (0001), written by
-- `otpctl key create|revoke` and read every OTP_AUTH_REFRESH_MS by otp-intake
-- (services/intake/README.md, "Authentication"; docs/decisions/0006-api-key-hashing.md).
--
-- Shapes are those otpctl produces: id `ak_` + 24 hex, secret_hash
-- `hmac-sha256$<32 hex salt>$<64 hex mac>`, scopes among send/verify/read. The checks are NOT VALID
-- so that rows inserted by hand before this migration do not block it; new and updated rows must
-- pass them. The intake skips a row it cannot use, with a warning.
ALTER TABLE api_keys
  -- A human label ("checkout service, production"), never a secret.
  ADD COLUMN label text NOT NULL DEFAULT ''
    CONSTRAINT api_keys_label_length CHECK (length(label) <= 200),
  ADD CONSTRAINT api_keys_id_format CHECK (id ~ '^ak_[0-9a-f]{24}$') NOT VALID,
  ADD CONSTRAINT api_keys_secret_hash_format
    CHECK (secret_hash ~ '^hmac-sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$') NOT VALID,
  ADD CONSTRAINT api_keys_scopes_known
    CHECK (scopes <@ ARRAY['send', 'verify', 'read']::text[]) NOT VALID;

COMMENT ON COLUMN api_keys.secret_hash IS
  'hmac-sha256$<salt hex>$<HMAC-SHA256(salt, secret) hex>: never the secret itself, which is shown '
  'once by otpctl key create.';
COMMENT ON COLUMN api_keys.revoked_at IS
  'Set by otpctl key revoke; the intake stops accepting the key and its access tokens at its next '
  'key refresh (OTP_AUTH_REFRESH_MS, default 2 s).';
