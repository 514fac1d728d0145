#pragma once

#include "common/error/error.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::intake::webhooks {

using FormField = std::pair<std::string, std::string>;

/// Decodes `application/x-www-form-urlencoded` text (a POST body or a query string): `&`-
/// separated `name=value` pairs, `+` as space, `%XX` escapes. Order and duplicates are kept; a
/// pair without `=` has an empty value; empty pairs are skipped. kInvalidInput for a malformed
/// escape. Pure.
[[nodiscard]] Result<std::vector<FormField>> parse_form(std::string_view text);

/// The first value of `name`, or nullptr.
[[nodiscard]] const std::string* form_value(const std::vector<FormField>& fields,
                                            std::string_view name);

}  // namespace otp::intake::webhooks
