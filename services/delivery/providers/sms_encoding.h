#pragma once

#include <string>
#include <string_view>

namespace otp::delivery {

/// How an SMS text travels and how many parts it takes (3GPP TS 23.038 / 23.040): GSM-7 when
/// every character is in the GSM 03.38 default alphabet or its extension table (the extension
/// characters `^ { } \ [ ~ ] | €` and form feed cost two septets), else UCS-2 (UTF-16 code
/// units; a character outside the BMP costs two). One part holds 160 septets / 70 units; a
/// concatenated message's parts hold 153 / 67 (the rest is the UDH); an escape sequence or a
/// surrogate pair is never split across parts, so such a part carries one unit less.
struct SmsEncoding {
  bool gsm7 = true;
  int units = 0;     ///< septets (GSM-7) or UTF-16 code units (UCS-2)
  int segments = 0;  ///< 0 for an empty text
  [[nodiscard]] std::string_view name() const { return gsm7 ? "gsm7" : "ucs2"; }
};

/// `text` must be UTF-8; invalid bytes count as one UCS-2 unit each.
[[nodiscard]] SmsEncoding sms_encoding(std::string_view text);

}  // namespace otp::delivery
