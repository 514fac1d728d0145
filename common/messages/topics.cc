#include "common/messages/topics.h"

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
  // Partition counts bound the consumers per group; six lets a 2-core box run several workers
  // and leaves room to scale out. Delivery topics hold sealed codes: keep them one day at most.
  constexpr std::int64_t kOneDayMs = 24LL * 3600 * 1000;
  constexpr std::int64_t kSevenDaysMs = 7 * kOneDayMs;
  return {
      {send_requests, 6, kSevenDaysMs},
      {verify_requests, 6, kSevenDaysMs},
      // One partition per intake instance (OTP_INTAKE_INSTANCE); short-lived answers.
      {replies, 8, 3600LL * 1000},
      {delivery_email, 3, kOneDayMs},
      {delivery_sms, 3, kOneDayMs},
      {delivery_whatsapp, 3, kOneDayMs},
      {delivery_retry, 3, kOneDayMs},
      {events, 6, kSevenDaysMs},
      {dlq, 1, 4 * kSevenDaysMs},
  };
}

}  // namespace otp::messages
