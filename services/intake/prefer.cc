#include "services/intake/prefer.h"

#include <cctype>

namespace otp::intake {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

/// The preference name at the start of one list element: up to `=`, `;` or whitespace.
std::string_view preference_name(std::string_view element) {
  while (!element.empty() && is_space(element.front())) element.remove_prefix(1);
  std::size_t end = 0;
  while (end < element.size() && element[end] != '=' && element[end] != ';' &&
         !is_space(element[end])) {
    ++end;
  }
  return element.substr(0, end);
}

bool lists_respond_async(std::string_view value) {
  // Split on commas outside quoted strings (a value may be `"a, b"`, with `\"` escapes).
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      const char c = value[i];
      if (quoted && c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      }
      if (quoted || c != ',') continue;
    }
    if (equals_ignoring_case(preference_name(value.substr(start, i - start)), kRespondAsync)) {
      return true;
    }
    start = i + 1;
  }
  return false;
}

}  // namespace

bool prefers_respond_async(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (equals_ignoring_case(name, "Prefer") && lists_respond_async(value)) return true;
  }
  return false;
}

}  // namespace otp::intake
