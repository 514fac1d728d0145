#include "common/messages/topics.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace otp::messages {

Topics Topics::with_prefix(const std::string& prefix) {
  return Topics{
      .send_requests = prefix + "send-requests",
      .verify_requests = prefix + "verify-requests",
      .replies = prefix + "replies",
      .delivery_email = prefix + "delivery.email",
      .delivery_sms = prefix + "delivery.sms",
      .delivery_whatsapp = prefix + "delivery.whatsapp",
      .delivery_retry = prefix + "delivery.retry",
      .events = prefix + "events",
      .dlq = prefix + "dlq",
  };
}

const std::string& Topics::delivery(Channel channel) const {
  switch (channel) {
    case Channel::kEmail:
      return delivery_email;
    case Channel::kWhatsapp:
      return delivery_whatsapp;
    case Channel::kSms:
      break;
  }
  return delivery_sms;
}

std::vector<TopicSpec> Topics::specs() const {
  // Partition counts bound the consumers per group, and each costs CPU on every request: at
  // 5,000 sync sends/s the stack spent about 300 CPU-µs per request with six request and event
  // partitions, 232-268 with two (docs/decisions/0016-partition-counts.md). Two lets two generators
  // and two audit writers share the work (what the throughput targets need); more are one
  // OTP_TOPIC_PARTITIONS away. Delivery topics hold sealed codes: keep them one day at most.
  constexpr std::int64_t kOneDayMs = 24LL * 3600 * 1000;
  constexpr std::int64_t kSevenDaysMs = 7 * kOneDayMs;
  return {
      {send_requests, 2, kSevenDaysMs},
      {verify_requests, 2, kSevenDaysMs},
      // One partition per intake instance (OTP_INTAKE_INSTANCE); short-lived answers.
      {replies, 8, 3600LL * 1000},
      {delivery_email, 3, kOneDayMs},
      {delivery_sms, 3, kOneDayMs},
      {delivery_whatsapp, 3, kOneDayMs},
      {delivery_retry, 3, kOneDayMs},
      {events, 2, kSevenDaysMs},
      {dlq, 1, 4 * kSevenDaysMs},
  };
}

Result<std::vector<TopicSpec>> with_partitions(std::vector<TopicSpec> specs,
                                               const std::string& prefix,
                                               const std::string& overrides) {
  std::string_view rest(overrides);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto equals = item.find('=');
    const auto name = item.substr(0, equals);
    const auto count_text =
        equals == std::string_view::npos ? std::string_view{} : item.substr(equals + 1);
    std::int32_t count = 0;
    const auto [end, error] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (name.empty() || count_text.empty() || error != std::errc{} ||
        end != count_text.data() + count_text.size() || count < 1 || count > 1000) {
      return fail(Errc::kInvalidInput, "partitions: '" + std::string(item) +
                                           "' is not name=count with a count of 1 to 1000");
    }
    if (name == "replies") {
      return fail(Errc::kInvalidInput,
                  "partitions: replies has one partition per intake instance and stays at its "
                  "default");
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const TopicSpec& candidate) {
      return candidate.name == prefix + std::string(name);
    });
    if (spec == specs.end()) {
      return fail(Errc::kInvalidInput, "partitions: no topic named '" + std::string(name) +
                                           "' (names go without the prefix '" + prefix + "')");
    }
    spec->partitions = count;
  }
  return specs;
}

}  // namespace otp::messages
