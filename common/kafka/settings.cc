#include "common/kafka/settings.h"

namespace otp::kafka {

KafkaSettings settings_from_env(config::EnvReader& env, std::string client_id) {
  KafkaSettings settings{.brokers = env.required_string("OTP_KAFKA_BROKERS"),
                         .client_id = std::move(client_id),
                         .properties = {}};
  std::string extra = env.string("OTP_KAFKA_PROPERTIES", "");
  std::string_view rest = extra;
  while (!rest.empty()) {
    auto end = rest.find(';');
    auto item = rest.substr(0, end);
    if (!item.empty()) {
      auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        env.reject("OTP_KAFKA_PROPERTIES", "items must be key=value separated by ';'");
        break;
      }
      settings.properties.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return settings;
}

KafkaSettings with_defaults(KafkaSettings settings,
                            std::vector<std::pair<std::string, std::string>> defaults) {
  settings.properties.insert(settings.properties.begin(), std::make_move_iterator(defaults.begin()),
                             std::make_move_iterator(defaults.end()));
  return settings;
}

}  // namespace otp::kafka
