#pragma once

#include "common/messages/topics.h"

#include <map>
#include <string>

namespace otp::schema {

/// Topic name -> schema file name (as `SchemaValidator::validate` takes it).
using TopicSchemas = std::map<std::string, std::string, std::less<>>;

/// The schema of every pipeline topic that carries a versioned payload: send and verify requests,
/// replies, the three delivery topics and events. The dead-letter topic has none (it holds
/// whatever was refused), nor has the delivery retry topic, which nothing writes yet.
[[nodiscard]] TopicSchemas topic_schemas(const messages::Topics& topics);

}  // namespace otp::schema
