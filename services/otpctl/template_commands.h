#pragma once

#include "common/error/error.h"
#include "common/pg/pg_connection.h"
#include "services/delivery/templates/template_store.h"
#include "services/delivery/templates/template_text.h"

#include <optional>
#include <string>
#include <vector>

namespace otp::otpctl {

/// Validates `t` (`delivery::validate_template`: `{{code}}` present, known placeholders only,
/// length and segment limits) and inserts or replaces it in `message_templates`. The tenant must
/// exist (kNotFound). Returns what validation measured (SMS segments and encoding).
[[nodiscard]] Result<delivery::TemplateCheck> set_template(pg::PgConnection& db,
                                                           const delivery::StoredTemplate& t);

/// The tenant's templates, optionally of one channel, ordered by channel, name, locale.
[[nodiscard]] Result<std::vector<delivery::StoredTemplate>> list_templates(
    pg::PgConnection& db, const std::string& tenant, const std::string& channel);

/// Deletes one template; kNotFound if there was none.
[[nodiscard]] Result<void> delete_template(pg::PgConnection& db, const std::string& tenant,
                                           const std::string& channel, const std::string& locale,
                                           const std::string& name);

/// Sets the tenant's default sender id and brand for a channel (`tenant_senders`).
[[nodiscard]] Result<void> set_sender(pg::PgConnection& db, const std::string& tenant,
                                      const std::string& channel, const std::string& sender,
                                      const std::string& brand);

/// `otpctl template set|list|delete|sender ...` (args after `template`); connects with
/// OTP_PG_URL. Exit code: 0 ok, 1 failure, 2 usage or invalid template.
[[nodiscard]] int template_command(const std::vector<std::string>& args);

}  // namespace otp::otpctl
