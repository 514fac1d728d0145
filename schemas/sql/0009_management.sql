-- 0009_management: indexes for the intake's management endpoints (docs/http-api.md, "Management
-- endpoints"). GET /otp/list pages through a tenant's verifications newest first by the keyset
-- (created_at, verification_id), optionally for one status; these two indexes serve exactly
-- that and replace the 0001 ones they extend (same leading columns), so the audit writer
-- maintains no more indexes than before. Logs and attempts use the 0002 indexes of otp_events
-- ((tenant, occurred_at), (tenant, verification_id)); recipients use
-- verifications_tenant_recipient_hash_idx.
--
-- Runs in one transaction (scripts/lib/migrate.sh, otpctl migrate): no BEGIN/COMMIT here.

CREATE INDEX verifications_tenant_created_key_idx
  ON verifications (tenant, created_at DESC, verification_id DESC);
DROP INDEX verifications_tenant_created_idx;

CREATE INDEX verifications_tenant_status_key_idx
  ON verifications (tenant, status, created_at DESC, verification_id DESC);
DROP INDEX verifications_tenant_status_idx;
