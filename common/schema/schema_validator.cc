#include "common/schema/schema_validator.h"

#include "common/schema/compiled_schema.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <system_error>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace otp::schema {
namespace {

using json = nlohmann::json;

// Keywords of 2020-12 (and 2019-09) that draft 7 does not know: valijson would ignore them, so
// a schema using one would accept more than it says.
constexpr std::array kUnsupportedKeywords = {
    "prefixItems",       "unevaluatedProperties", "unevaluatedItems",
    "dependentRequired", "dependentSchemas",      "$dynamicRef",
    "$dynamicAnchor",    "$recursiveRef",         "$recursiveAnchor",
    "$anchor",           "minContains",           "maxContains",
    "$vocabulary"};

// Longest string the rejection path lets valijson match against a `pattern`: libstdc++'s regex
// executor recurses once per repeated character, and a string of ~100 KB (well within a Kafka
// record) overflows an 8 MB stack. Our schemas bound such fields to 128 characters.
constexpr std::size_t kMaxPatternInputBytes = 4096;

constexpr std::array kAcceptedDialects = {"https://json-schema.org/draft/2020-12/schema",
                                          "http://json-schema.org/draft-07/schema#"};

// Keywords whose object values map names to schemas: their keys are names, not keywords.
bool maps_names(std::string_view keyword) {
  return keyword == "properties" || keyword == "$defs" || keyword == "definitions" ||
         keyword == "patternProperties";
}

// Returns why `node` (a schema or a map of them) cannot be checked faithfully as draft 7, or "".
std::string refusal(const json& node, const std::string& pointer, bool names_only) {
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto why = refusal(node[i], pointer + "/" + std::to_string(i), false); !why.empty()) {
        return why;
      }
    }
    return {};
  }
  if (!node.is_object()) return {};
  for (const auto& [key, value] : node.items()) {
    const std::string at = pointer + "/" + key;
    if (!names_only) {
      if (std::find(kUnsupportedKeywords.begin(), kUnsupportedKeywords.end(), key) !=
          kUnsupportedKeywords.end()) {
        return at + ": keyword not supported by the draft 7 validator";
      }
      if (key == "$ref" && (!value.is_string() || !value.get<std::string>().starts_with("#"))) {
        return at + ": only local references (#/...) are supported";
      }
      if (key == "pattern" && value.is_string()) {
        try {
          std::regex compiled(value.get<std::string>());
          static_cast<void>(compiled);
        } catch (const std::regex_error& error) {
          return at + ": pattern does not compile: " + error.what();
        }
      }
      if (key == "enum" || key == "const" || key == "required" || key == "description" ||
          key == "title" || key == "examples" || key == "default") {
        continue;  // values, not schemas
      }
    }
    if (auto why = refusal(value, at, !names_only && maps_names(key)); !why.empty()) return why;
  }
  return {};
}

// valijson names where an error is as ["<root>", "[tenant]", "[0]"]; we answer JSON pointers.
std::string to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
      token = token.substr(1, token.size() - 2);
    }
    out += "/" + escape_pointer_token(token);
  }
  return out;
}

std::string describe(const valijson::ValidationResults::Error& error) {
  std::string pointer = to_pointer(error.context);
  // A missing property is reported on its parent; point at the property itself.
  static constexpr std::string_view kMissing = "Missing required property '";
  if (error.description.starts_with(kMissing) && error.description.ends_with("'.")) {
    pointer += "/" + escape_pointer_token(error.description.substr(
                         kMissing.size(), error.description.size() - kMissing.size() - 2));
  }
  return (pointer.empty() ? std::string("(root)") : pointer) + ": " + error.description;
}

}  // namespace

std::string schema_dir_from(config::EnvReader& env) {
  return env.string("OTP_SCHEMA_DIR", std::string(kDefaultSchemaDir));
}

struct SchemaValidator::State {
  struct Entry {
    std::unique_ptr<valijson::Schema> schema;
    std::optional<CompiledSchema> compiled;  // empty: valijson decides
  };
  std::map<std::string, Entry, std::less<>> schemas;
  mutable std::mutex mutex;
  // Holds the compiled-regex cache, hence the mutex.
  mutable valijson::Validator validator{valijson::Validator::kStrongTypes};
};

SchemaValidator::SchemaValidator(std::unique_ptr<State> state) : state_(std::move(state)) {}
SchemaValidator::SchemaValidator(SchemaValidator&&) noexcept = default;
SchemaValidator& SchemaValidator::operator=(SchemaValidator&&) noexcept = default;
SchemaValidator::~SchemaValidator() = default;

Result<SchemaValidator> SchemaValidator::load(const std::filesystem::path& dir,
                                              LoadOptions options) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec)
    return fail(Errc::kInvalidInput, "schemas: cannot read " + dir.string() + ": " + ec.message());
  if (files.empty()) return fail(Errc::kInvalidInput, "schemas: no *.json file in " + dir.string());

  auto state = std::make_unique<State>();
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    json document = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) {
      return fail(Errc::kInvalidInput, "schemas: " + name + ": not a JSON object");
    }
    const std::string dialect = document.value("$schema", "");
    if (std::find(kAcceptedDialects.begin(), kAcceptedDialects.end(), dialect) ==
        kAcceptedDialects.end()) {
      return fail(Errc::kInvalidInput,
                  "schemas: " + name + ": $schema must be draft 2020-12 or draft-07");
    }
    if (auto why = refusal(document, "", false); !why.empty()) {
      return fail(Errc::kInvalidInput, "schemas: " + name + ": " + why);
    }
    auto schema = std::make_unique<valijson::Schema>();
    try {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(document);
      parser.populateSchema(adapter, *schema);
    } catch (const std::exception& error) {  // start-up only: valijson reports by exception
      return fail(Errc::kInvalidInput, "schemas: " + name + ": " + error.what());
    }
    State::Entry entry{.schema = std::move(schema), .compiled = std::nullopt};
    if (options.compile) {
      // A file the compiler does not handle simply keeps valijson for every payload.
      if (auto compiled = CompiledSchema::compile(document)) entry.compiled = std::move(*compiled);
    }
    state->schemas.emplace(name, std::move(entry));
  }
  return SchemaValidator(std::move(state));
}

Result<void> SchemaValidator::validate(std::string_view schema_name,
                                       std::string_view payload) const {
  auto document = parse_valid(schema_name, payload);
  if (!document) return tl::unexpected(document.error());
  return {};
}

Result<json> SchemaValidator::parse_valid(std::string_view schema_name,
                                          std::string_view payload) const {
  auto found = state_->schemas.find(schema_name);
  if (found == state_->schemas.end()) {
    return fail(Errc::kInternal, "schemas: no schema named " + std::string(schema_name));
  }
  const std::string prefix = std::string(schema_name) + ": ";
  json document = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return fail(Errc::kInvalidInput, prefix + "(root): not valid JSON");

  const State::Entry& entry = found->second;
  if (entry.compiled) {
    if (entry.compiled->accepts(document)) return document;
    // valijson's std::regex would overflow the stack on such a string (it recurses per
    // character): the document is invalid, say where without asking valijson.
    if (auto at = entry.compiled->long_pattern_input(document, kMaxPatternInputBytes)) {
      return fail(Errc::kInvalidInput,
                  prefix + *at + ": String longer than " + std::to_string(kMaxPatternInputBytes) +
                      " bytes is not matched against the 'pattern' constraint.");
    }
  }

  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  bool valid = false;
  {
    std::lock_guard lock(state_->mutex);
    valid = state_->validator.validate(*entry.schema, target, &results);
  }
  if (valid) return document;
  // valijson reports the innermost failure first and then each enclosing one; the deepest is the
  // most specific, so report it.
  valijson::ValidationResults::Error deepest;
  valijson::ValidationResults::Error error;
  bool any = false;
  while (results.popError(error)) {
    if (!any || error.context.size() > deepest.context.size()) deepest = error;
    any = true;
  }
  if (!any) return fail(Errc::kInvalidInput, prefix + "(root): does not match the schema");
  return fail(Errc::kInvalidInput, prefix + describe(deepest));
}

std::vector<std::string> SchemaValidator::schema_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : state_->schemas) names.push_back(name);
  return names;
}

std::vector<std::string> SchemaValidator::compiled_schema_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : state_->schemas) {
    if (entry.compiled) names.push_back(name);
  }
  return names;
}

}  // namespace otp::schema
