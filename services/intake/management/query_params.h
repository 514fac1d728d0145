#pragma once

#include "services/intake/api_response.h"

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otp::intake::management {

/// A strictly parsed query string (`application/x-www-form-urlencoded`): `name=value` pairs
/// joined by `&`, `+` = space, `%XX` escapes decoded. Refused with 400 `invalid_request`
/// naming the parameter: a name outside `allowed`, a name given twice, a bad escape, a decoded
/// value that is not UTF-8 or holds a control character, an empty pair (`a=1&&b=2`), a pair
/// without `=`, a query longer than 4096 characters. Pure; thread-safe.
class QueryParams {
 public:
  [[nodiscard]] static ApiResult<QueryParams> parse(std::string_view raw,
                                                    std::span<const std::string_view> allowed);
  [[nodiscard]] static ApiResult<QueryParams> parse(
      std::string_view raw, std::initializer_list<std::string_view> allowed) {
    return parse(raw, std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }

  /// The decoded value of `name`, if given (possibly empty).
  [[nodiscard]] std::optional<std::string> get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// Percent-decodes one component (`+` = space). nullopt on a bad escape, on bytes that are not
/// UTF-8 or on a control character. Exposed for tests.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);

}  // namespace otp::intake::management
