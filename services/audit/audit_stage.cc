#include "services/audit/audit_stage.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otp::audit {
namespace {

using nlohmann::json;

// Names under which a careless producer would put a code. Kept in step with the
// otp_events_no_codes check in schemas/sql/0001_init.sql (which looks at the top level only).
constexpr std::array<std::string_view, 5> kCodeKeys = {"code", "otp", "otp_code", "otp_code_sealed",
                                                       "sealed_code"};
constexpr int kMaxDepth = 16;

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

/// The first reason `value` (found at `path`) may not be stored, if any.
std::optional<std::string> find_problem(const json& value, const std::string& path, int depth) {
  if (depth > kMaxDepth) return path + " is nested too deeply";
  if (value.is_string()) {
    if (has_nul(value.get_ref<const std::string&>())) return path + " contains a NUL character";
    return std::nullopt;
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      std::string item_path = path + "." + key;
      if (has_nul(key)) return path + " has a key with a NUL character";
      for (auto code_key : kCodeKeys) {
        if (key == code_key) return item_path + " looks like a code; events never carry codes";
      }
      if (auto problem = find_problem(item, item_path, depth + 1)) return problem;
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (auto problem = find_problem(value[i], path + "[" + std::to_string(i) + "]", depth + 1)) {
        return problem;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Result<messages::Event> AuditStage::decode(const kafka::Record& record) const {
  auto event = messages::decode_event(record.value);
  if (!event) return event;
  // Times are already bounded (1970..2200) by the shared RFC 3339 parser.
  if (auto problem = find_problem(event->data, "data", 1)) {
    return fail(Errc::kInvalidInput, "event " + event->id + ": " + *problem);
  }
  return event;
}

Result<void> AuditStage::write(std::span<const messages::Event> batch) {
  if (batch.empty()) return {};
  auto written = store_.write(batch);
  if (!written) {
    if (!written.error().is_retryable()) {
      spdlog::error("audit.write_failed events={} errc={} error=\"{}\"", batch.size(),
                    to_string(written.error().code), written.error().message);
    }
    return tl::unexpected(written.error());
  }
  spdlog::debug("audit.batch_stored events={} inserted={} duplicates={} verifications={}",
                batch.size(), written->inserted, batch.size() - written->inserted,
                written->verifications);
  return {};
}

}  // namespace otp::audit
