#pragma once

#include "common/config/env.h"
#include "services/delivery/providers/provider.h"

#include <chrono>
#include <string>
#include <vector>

namespace otp::delivery {

struct SmtpConfig {
  /// `smtp://host:587` (STARTTLS) or `smtps://host:465` (implicit TLS).
  std::string url;
  std::string username;  ///< empty: no AUTH
  config::Secret password;
  std::string from;  ///< default sender: `Acme <no-reply@acme.example>` or a bare address
  /// STARTTLS is required (CURLUSESSL_ALL) unless this is false; false is accepted only for a
  /// loopback host (127.0.0.1, ::1, localhost): a dev/test relay.
  bool require_tls = true;
  std::string ca_file;  ///< extra CA bundle (PEM) to verify the server with; empty: system CAs
  std::chrono::milliseconds timeout{10000};
};

/// One SMTP submission: what libcurl needs (the "request" of the SMTP provider).
struct SmtpRequest {
  std::string url;
  std::string mail_from;          ///< bare address for MAIL FROM
  std::vector<std::string> rcpt;  ///< bare addresses for RCPT TO
  std::string payload;            ///< the RFC 5322 message, CRLF line endings
  bool require_tls = true;
  std::string username;
  config::Secret password;
  std::string ca_file;
  std::chrono::milliseconds timeout{10000};
  std::string message_id;  ///< the Message-ID header's value, without <>
};

/// What one SMTP transfer ended with.
struct SmtpOutcome {
  int curl_code = 0;     ///< CURLcode (0 = CURLE_OK)
  long smtp_status = 0;  ///< last SMTP reply code (CURLINFO_RESPONSE_CODE), 0 if none
  std::chrono::milliseconds elapsed{};
  std::string curl_error;  ///< libcurl's error text (no credentials, no message content)
};

/// Email over SMTP with libcurl. The message is `multipart/alternative` (text/plain from
/// `text`, text/html from `body`), each part base64, subject RFC 2047-encoded when not ASCII,
/// `Message-ID: <job id@sender domain>` (the receipt's message id), `Date`, `From` (the message's
/// sender, else the configured one), `To`. CR/LF in header values is refused (kPermanent).
///
/// Outcome mapping: OK -> receipt; an SMTP 5xx reply -> kPermanent (e.g. 550 no such mailbox);
/// 4xx -> kUnavailable; CURLE_OPERATION_TIMEDOUT -> kTimeout; CURLE_USE_SSL_FAILED (no STARTTLS
/// offered) and CURLE_LOGIN_DENIED and CURLE_PEER_FAILED_VERIFICATION -> kPermanent (configuration:
/// fail over); other transport failures -> kUnavailable.
///
/// Thread-safe: `send` uses its own easy handle per call (a new connection per message; the
/// engine may move `configure` onto its multi handle).
class SmtpEmailProvider final : public Provider {
 public:
  /// Throws `std::invalid_argument` for a missing url/from, a url that is not smtp(s)://, or
  /// `require_tls=false` with a host that is not loopback.
  explicit SmtpEmailProvider(SmtpConfig config);

  [[nodiscard]] std::string_view name() const override { return "smtp"; }
  [[nodiscard]] std::string_view channel() const { return "email"; }
  [[nodiscard]] Result<SmtpRequest> build_request(const OutboundMessage& message) const;
  [[nodiscard]] Result<ProviderReceipt> interpret(const SmtpRequest& request,
                                                  const SmtpOutcome& outcome) const;
  /// Performs one submission with a fresh curl easy handle (blocking).
  [[nodiscard]] static SmtpOutcome perform(const SmtpRequest& request);
  [[nodiscard]] Result<ProviderReceipt> send(const OutboundMessage& message) override;

 private:
  SmtpConfig config_;
};

/// The bare address in `Name <addr>` or `addr`; empty if there is none or it holds CR/LF/space.
[[nodiscard]] std::string email_address(std::string_view mailbox);

/// `=?UTF-8?B?...?=` for non-ASCII header text (RFC 2047), the text itself otherwise.
[[nodiscard]] std::string encode_header_text(std::string_view text);

}  // namespace otp::delivery
