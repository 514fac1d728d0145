#include "services/intake/auth/scopes.h"

#include <array>
#include <utility>

namespace otp::intake::auth {
namespace {

constexpr std::array<std::pair<std::string_view, unsigned>, 3> kNames = {
    {{"send", kScopeSend}, {"verify", kScopeVerify}, {"read", kScopeRead}}};

}  // namespace

Result<unsigned> parse_scopes(std::string_view names, char separator) {
  unsigned scopes = 0;
  while (!names.empty()) {
    const auto end = names.find(separator);
    const std::string_view item = names.substr(0, end);
    names = end == std::string_view::npos ? std::string_view() : names.substr(end + 1);
    if (item.empty()) continue;
    bool known = false;
    for (const auto& [name, bit] : kNames) {
      if (item == name) {
        scopes |= bit;
        known = true;
      }
    }
    if (!known) {
      return fail(Errc::kInvalidInput, "unknown scope '" + std::string(item.substr(0, 32)) +
                                           "' (known: send, verify, read)");
    }
  }
  return scopes;
}

std::string format_scopes(unsigned scopes, char separator) {
  std::string text;
  for (const auto& [name, bit] : kNames) {
    if ((scopes & bit) == 0U) continue;
    if (!text.empty()) text += separator;
    text += name;
  }
  return text;
}

}  // namespace otp::intake::auth
