#include "common/schema/topic_schemas.h"

namespace otp::schema {

TopicSchemas topic_schemas(const messages::Topics& topics) {
  return {
      {topics.send_requests, "send-request.v1.json"},
      {topics.verify_requests, "verify-request.v1.json"},
      {topics.replies, "reply.v1.json"},
      {topics.delivery_sms, "delivery-job.v1.json"},
      {topics.delivery_email, "delivery-job.v1.json"},
      {topics.delivery_whatsapp, "delivery-job.v1.json"},
      {topics.events, "event.v1.json"},
  };
}

}  // namespace otp::schema
