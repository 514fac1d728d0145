#include "services/delivery/providers/smtp_email_provider.h"

#include "common/crypto/base64.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace otp::delivery {
namespace {

bool has_line_break(std::string_view text) {
  return text.find('\r') != std::string_view::npos || text.find('\n') != std::string_view::npos;
}

// The host of smtp[s]://host[:port][/...]; brackets kept off IPv6 literals.
std::string url_host(std::string_view url) {
  auto rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.find(':')));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::string rfc5322_date(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> buffer{};
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays.at(static_cast<std::size_t>(tm.tm_wday)), tm.tm_mday,
                kMonths.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buffer.data();
}

// Base64 folded at 76 characters per line (RFC 2045).
std::string base64_lines(std::string_view bytes) {
  const auto encoded = crypto::base64_encode(bytes);
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); i += 76) {
    out += encoded.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

// A Message-ID local part from the job id: dot-atom characters only.
std::string id_part(std::string_view job_id) {
  std::string out;
  for (char c : job_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out += ok ? c : '-';
  }
  return out.empty() ? "otp" : out;
}

struct ReadState {
  const std::string* payload;
  std::size_t offset = 0;
};

std::size_t read_payload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* state = static_cast<ReadState*>(user);
  const std::size_t room = size * count;
  const std::size_t left = state->payload->size() - state->offset;
  const std::size_t n = std::min(room, left);
  std::memcpy(buffer, state->payload->data() + state->offset, n);
  state->offset += n;
  return n;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string email_address(std::string_view mailbox) {
  std::string_view address = mailbox;
  if (auto open = mailbox.rfind('<'); open != std::string_view::npos) {
    const auto close = mailbox.find('>', open);
    if (close == std::string_view::npos) return {};
    address = mailbox.substr(open + 1, close - open - 1);
  }
  while (!address.empty() && address.front() == ' ') address.remove_prefix(1);
  while (!address.empty() && address.back() == ' ') address.remove_suffix(1);
  const auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return {};
  if (address.find_first_of(" \r\n<>,;\"") != std::string_view::npos) return {};
  return std::string(address);
}

std::string encode_header_text(std::string_view text) {
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return std::string(text);
  return "=?UTF-8?B?" + crypto::base64_encode(text) + "?=";
}

SmtpEmailProvider::SmtpEmailProvider(SmtpConfig config) : config_(std::move(config)) {
  if (!config_.url.starts_with("smtp://") && !config_.url.starts_with("smtps://")) {
    throw std::invalid_argument("smtp: url must start with smtp:// or smtps://");
  }
  if (email_address(config_.from).empty()) {
    throw std::invalid_argument("smtp: a valid from address is required");
  }
  if (!config_.require_tls && !config_.url.starts_with("smtps://") &&
      !is_loopback(url_host(config_.url))) {
    throw std::invalid_argument("smtp: TLS may only be disabled for a loopback relay");
  }
}

Result<SmtpRequest> SmtpEmailProvider::build_request(const OutboundMessage& message) const {
  const std::string from = message.sender.empty() ? config_.from : message.sender;
  const auto from_address = email_address(from);
  if (from_address.empty() || has_line_break(from)) {
    return fail(Errc::kPermanent, "smtp: invalid sender address");
  }
  const auto to_address = email_address(message.to);
  if (to_address.empty() || has_line_break(message.to)) {
    return fail(Errc::kPermanent, "smtp: invalid recipient address");
  }
  if (has_line_break(message.subject)) return fail(Errc::kPermanent, "smtp: invalid subject");

  SmtpRequest request;
  request.url = config_.url;
  request.mail_from = "<" + from_address + ">";
  request.rcpt = {"<" + to_address + ">"};
  request.require_tls = config_.require_tls;
  request.username = config_.username;
  request.password = config_.password;
  request.ca_file = config_.ca_file;
  request.timeout = config_.timeout;
  request.message_id =
      id_part(message.job_id) + "@" + from_address.substr(from_address.find('@') + 1);

  const std::string boundary = "=_otp_" + id_part(message.job_id);
  std::string& p = request.payload;
  p += "Date: " + rfc5322_date(std::chrono::system_clock::now()) + "\r\n";
  p += "From: " + from + "\r\n";
  p += "To: <" + to_address + ">\r\n";
  p += "Subject: " + encode_header_text(message.subject) + "\r\n";
  p += "Message-ID: <" + request.message_id + ">\r\n";
  p += "MIME-Version: 1.0\r\n";
  p += "Auto-Submitted: auto-generated\r\n";
  if (message.text.empty()) {
    p += "Content-Type: text/html; charset=UTF-8\r\n";
    p += "Content-Transfer-Encoding: base64\r\n\r\n";
    p += base64_lines(message.body);
    return request;
  }
  p += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  p += "--" + boundary + "\r\n";
  p += "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  p += base64_lines(message.text);
  p += "--" + boundary + "\r\n";
  p += "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  p += base64_lines(message.body);
  p += "--" + boundary + "--\r\n";
  return request;
}

SmtpOutcome SmtpEmailProvider::perform(const SmtpRequest& request) {
  curl_init_once();
  SmtpOutcome outcome;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    outcome.curl_code = CURLE_FAILED_INIT;
    outcome.curl_error = "curl_easy_init failed";
    return outcome;
  }
  curl_slist* rcpt = nullptr;
  for (const auto& address : request.rcpt) rcpt = curl_slist_append(rcpt, address.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt_guard(rcpt,
                                                                         &curl_slist_free_all);
  std::array<char, CURL_ERROR_SIZE> error{};
  ReadState state{.payload = &request.payload};
  const std::string password = request.password.reveal();
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, request.mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &read_payload);
  curl_easy_setopt(h, CURLOPT_READDATA, &state);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.payload.size()));
  curl_easy_setopt(h, CURLOPT_USE_SSL,
                   static_cast<long>(request.require_tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  if (!request.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, request.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error.data());

  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(h);
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  outcome.curl_code = static_cast<int>(code);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  outcome.smtp_status = status;
  if (code != CURLE_OK)
    outcome.curl_error = error[0] != '\0' ? error.data() : curl_easy_strerror(code);
  return outcome;
}

Result<ProviderReceipt> SmtpEmailProvider::interpret(const SmtpRequest& request,
                                                     const SmtpOutcome& outcome) const {
  if (outcome.curl_code == CURLE_OK) {
    return ProviderReceipt{
        .provider = "smtp", .message_id = request.message_id, .latency = outcome.elapsed};
  }
  const std::string what = "smtp curl " + std::to_string(outcome.curl_code) + " reply " +
                           std::to_string(outcome.smtp_status) + " (" + outcome.curl_error + ")";
  if (outcome.smtp_status >= 500 && outcome.smtp_status < 600) {
    return fail(Errc::kPermanent, "smtp refused message: " + what);
  }
  if (outcome.smtp_status >= 400 && outcome.smtp_status < 500) {
    return fail(Errc::kUnavailable, "smtp deferred message: " + what);
  }
  switch (static_cast<CURLcode>(outcome.curl_code)) {
    case CURLE_OPERATION_TIMEDOUT:
      return fail(Errc::kTimeout, "smtp timed out: " + what);
    case CURLE_USE_SSL_FAILED:
      return fail(Errc::kPermanent, "smtp server offers no STARTTLS: " + what);
    case CURLE_LOGIN_DENIED:
      return fail(Errc::kPermanent, "smtp rejected credentials: " + what);
    case CURLE_PEER_FAILED_VERIFICATION:
      return fail(Errc::kPermanent, "smtp certificate not trusted: " + what);
    default:
      return fail(Errc::kUnavailable, "smtp unavailable: " + what);
  }
}

Result<ProviderReceipt> SmtpEmailProvider::send(const OutboundMessage& message) {
  auto request = build_request(message);
  if (!request) return tl::unexpected(with_job(request.error(), message.job_id));
  auto receipt = interpret(*request, perform(*request));
  if (!receipt) return tl::unexpected(with_job(receipt.error(), message.job_id));
  return receipt;
}

}  // namespace otp::delivery
