#include "services/delivery/providers/sms_encoding.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace otp::delivery {
namespace {

// GSM 03.38 default alphabet, as Unicode code points (0x00..0x7F of the table, ESC excluded).
constexpr std::array<char32_t, 127> kBasic = {
    U'@', U'£', U'$', U'¥', U'è', U'é', U'ù', U'ì', U'ò',  U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å',
    U'å', U'Δ', U'_', U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ',  U'Σ', U'Θ',  U'Ξ', U'Æ', U'æ',  U'ß',
    U'É', U' ', U'!', U'"', U'#', U'¤', U'%', U'&', U'\'', U'(', U')',  U'*', U'+', U',',  U'-',
    U'.', U'/', U'0', U'1', U'2', U'3', U'4', U'5', U'6',  U'7', U'8',  U'9', U':', U';',  U'<',
    U'=', U'>', U'?', U'¡', U'A', U'B', U'C', U'D', U'E',  U'F', U'G',  U'H', U'I', U'J',  U'K',
    U'L', U'M', U'N', U'O', U'P', U'Q', U'R', U'S', U'T',  U'U', U'V',  U'W', U'X', U'Y',  U'Z',
    U'Ä', U'Ö', U'Ñ', U'Ü', U'§', U'¿', U'a', U'b', U'c',  U'd', U'e',  U'f', U'g', U'h',  U'i',
    U'j', U'k', U'l', U'm', U'n', U'o', U'p', U'q', U'r',  U's', U't',  U'u', U'v', U'w',  U'x',
    U'y', U'z', U'ä', U'ö', U'ñ', U'ü', U'à'};
constexpr std::array<char32_t, 10> kExtension = {U'^', U'{', U'}', U'\\', U'[',
                                                 U'~', U']', U'|', U'€',  U'\f'};

// Decodes one UTF-8 sequence at `i`; returns U+FFFD and advances one byte on invalid input.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = static_cast<unsigned char>(text[i]);
  int length = byte < 0x80           ? 1
               : (byte >> 5) == 0x6  ? 2
               : (byte >> 4) == 0xE  ? 3
               : (byte >> 3) == 0x1E ? 4
                                     : 0;
  if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? byte : byte & (0x7F >> length);
  for (int k = 1; k < length; ++k) {
    const auto cont = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
    if ((cont & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cont & 0x3F);
  }
  i += static_cast<std::size_t>(length);
  return cp;
}

}  // namespace

SmsEncoding sms_encoding(std::string_view text) {
  // Per character: its cost in septets (GSM-7) and in UTF-16 units (UCS-2).
  std::vector<std::pair<int, int>> costs;
  bool gsm7 = true;
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    int septets = 0;
    if (gsm7) {
      if (std::find(kBasic.begin(), kBasic.end(), cp) != kBasic.end()) {
        septets = 1;
      } else if (std::find(kExtension.begin(), kExtension.end(), cp) != kExtension.end()) {
        septets = 2;
      } else {
        gsm7 = false;
      }
    }
    costs.emplace_back(septets, cp > 0xFFFF ? 2 : 1);
  }
  SmsEncoding result;
  result.gsm7 = gsm7;
  for (const auto& [septets, units] : costs) result.units += gsm7 ? septets : units;
  const int single = gsm7 ? 160 : 70;
  const int part = gsm7 ? 153 : 67;
  if (result.units == 0) return result;
  if (result.units <= single) {
    result.segments = 1;
    return result;
  }
  // Concatenated: an escape sequence (GSM-7) or a surrogate pair (UCS-2) is never split across
  // parts, so a part may end one unit short.
  int used = 0;
  result.segments = 1;
  for (const auto& [septets, units] : costs) {
    const int cost = gsm7 ? septets : units;
    if (used + cost > part) {
      ++result.segments;
      used = 0;
    }
    used += cost;
  }
  return result;
}

}  // namespace otp::delivery
