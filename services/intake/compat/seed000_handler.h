#pragma once

#include "common/crypto/sealer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "common/time/clock.h"
#include "services/intake/compat/delivery_waits.h"
#include "services/intake/compat/directory.h"
#include "services/intake/http_message.h"
#include "services/intake/request_publisher.h"

#include <chrono>
#include <string>

namespace otp::intake::compat {

/// Seed 000 (Flask/Resend) routes: `POST /send-otp {"mobile"}` and our `POST /verify-otp
/// {"mobile","otp"}`, answering `{"success", "message", ...}` (docs/http-api.md,
/// "Compatibility routes").
///
/// The mobile number is looked up in the tenant's directory; the code goes to the email found
/// there. `/send-otp` answers only once the delivery worker reports the first delivery outcome
/// (header `delivery_correlation_id`), so a provider failure reaches the caller as the seed
/// documents. Holds references to its collaborators; thread-safe if they are.
class Seed000Handler {
 public:
  struct Settings {
    std::string tenant;
    std::chrono::milliseconds reply_timeout{3000};
    std::chrono::milliseconds delivery_timeout{10'000};
  };

  Seed000Handler(RequestPublisher& publisher, DeliveryWaits& deliveries, Directory& directory,
                 const crypto::Sealer& sealer, Rng& rng, const Clock& clock,
                 const messages::Topics& topics, Settings settings);

  /// `POST /send-otp`. `body` is the raw request body. Calls `respond` exactly once.
  void send(const std::string& body, ResponseCallback respond);
  /// `POST /verify-otp`.
  void verify(const std::string& body, ResponseCallback respond);

 private:
  void publish_send(const std::string& mobile, const DirectoryEntry& entry,
                    ResponseCallback respond);

  RequestPublisher& publisher_;
  DeliveryWaits& deliveries_;
  Directory& directory_;
  const crypto::Sealer& sealer_;
  Rng& rng_;
  const Clock& clock_;
  const messages::Topics& topics_;
  Settings settings_;
};

/// The address as seed 000's reply shows it unless the tenant reveals contacts: the first and
/// last character of the local part around a fixed `******` (which hides the length), and the
/// whole domain: `ap8548328@gmail.com` -> `a******8@gmail.com` (../shared/COMPAT.md).
[[nodiscard]] std::string mask_email(const std::string& email);

/// `{"success": false, "message": message}` with `status`.
[[nodiscard]] HttpResponse seed000_failure(int status, const std::string& message);

}  // namespace otp::intake::compat
