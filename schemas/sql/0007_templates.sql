-- Tenant message templates and sender ids, read by otp-delivery (services/delivery/README.md,
-- "Templates") and managed with `otpctl template set|list|sender`. Without a row the built-in
-- templates (en, es, pt, fr, de, hi) and the service's configured senders apply. otp-delivery
-- caches both tables and re-reads them every OTP_TEMPLATE_REFRESH_MS.
CREATE TABLE message_templates (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  channel text NOT NULL CONSTRAINT message_templates_channel
    CHECK (channel IN ('sms', 'email', 'whatsapp')),
  -- A language with an optional region, as the delivery service normalizes it: en, pt-BR.
  locale text NOT NULL CONSTRAINT message_templates_locale
    CHECK (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  name text NOT NULL DEFAULT 'default' CONSTRAINT message_templates_name
    CHECK (name ~ '^[a-z0-9_-]{1,64}$'),
  subject text NOT NULL DEFAULT '' CONSTRAINT message_templates_subject
    CHECK (octet_length(subject) <= 200),
  body text NOT NULL CONSTRAINT message_templates_body
    CHECK (octet_length(body) <= 10000 AND position('{{' IN body) > 0),
  -- Sender id for this template (SMS number or alphanumeric id, email From); '' = tenant default.
  sender text NOT NULL DEFAULT '' CONSTRAINT message_templates_sender
    CHECK (octet_length(sender) <= 254),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, channel, locale, name)
);

-- Per-tenant defaults for a channel: the sender id and the brand shown in messages when the
-- request has no `from`.
CREATE TABLE tenant_senders (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  channel text NOT NULL CONSTRAINT tenant_senders_channel
    CHECK (channel IN ('sms', 'email', 'whatsapp')),
  sender text NOT NULL DEFAULT '' CONSTRAINT tenant_senders_sender
    CHECK (octet_length(sender) <= 254),
  brand text NOT NULL DEFAULT '' CONSTRAINT tenant_senders_brand
    CHECK (octet_length(brand) <= 64),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, channel)
);
