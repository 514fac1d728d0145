#pragma once

#include "common/crypto/sealer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <chrono>
#include <string>

namespace otp::intake::compat {

/// Seed 002 (Go/Twilio/Redis) routes, `POST /api/send-otp` and `POST /api/verify-otp`, with the
/// seed's envelope `{"code", "message", "data"}` (docs/http-api.md, "Compatibility routes").
///
/// Both act for one configured tenant; the tenant's settings carry the seed's semantics (TTL,
/// trials, lock). A send is an SMS SendRequested; a verify names only the phone number, so it
/// is published as a verify-by-recipient request. Holds references to its collaborators;
/// thread-safe if they are.
class Seed002Handler {
 public:
  Seed002Handler(RequestPublisher& publisher, const crypto::Sealer& sealer, Rng& rng,
                 const Clock& clock, const messages::Topics& topics, std::string tenant,
                 std::chrono::milliseconds reply_timeout);

  /// `POST /api/send-otp`. `body` is the raw request body. Calls `respond` exactly once.
  void send(const std::string& body, ResponseCallback respond);
  /// `POST /api/verify-otp`.
  void verify(const std::string& body, ResponseCallback respond);

 private:
  RequestPublisher& publisher_;
  const crypto::Sealer& sealer_;
  Rng& rng_;
  const Clock& clock_;
  const messages::Topics& topics_;
  std::string tenant_;
  std::chrono::milliseconds reply_timeout_;
};

/// The seed's envelope: `{"code": status, "message": message}` plus `data` when given.
[[nodiscard]] HttpResponse seed002_response(int status, const std::string& message,
                                            const nlohmann::ordered_json* data = nullptr);
/// 400 `Invalid request body`.
[[nodiscard]] HttpResponse seed002_invalid_body();
/// 500 `Internal server error occurred.`
[[nodiscard]] HttpResponse seed002_internal_error();

/// The answer to a send: reply `pending` -> 200 with the trials left; `recipient_locked` and
/// `rate_limited` -> 403 lockout; `invalid_request`, `country_blocked` -> 400; anything else,
/// no reply, or not published -> 500. Pure.
[[nodiscard]] HttpResponse seed002_send_response(const ReplyResult& result);

/// The answer to a verify: `approved` -> 200 `data` {}; a wrong, expired, used or unknown code
/// -> 401 with the trials left; `max_attempts_reached` (the failure that used the last trial)
/// and `recipient_locked` -> 403 lockout; `invalid_request` -> 400; anything else -> 500. Pure.
[[nodiscard]] HttpResponse seed002_verify_response(const ReplyResult& result);

}  // namespace otp::intake::compat
