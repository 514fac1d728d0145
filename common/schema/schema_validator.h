#pragma once

#include "common/config/env.h"
#include "common/error/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace otp::schema {

/// The directory schemas are read from when OTP_SCHEMA_DIR is not set: the source tree's
/// `schemas/` (a compile definition), which a container image must replace by setting
/// OTP_SCHEMA_DIR to where it installed them.
inline constexpr std::string_view kDefaultSchemaDir = OTP_DEFAULT_SCHEMA_DIR;

/// OTP_SCHEMA_DIR, defaulting to `kDefaultSchemaDir`. Reports nothing itself: a missing or
/// unreadable directory is reported by `SchemaValidator::load`.
[[nodiscard]] std::string schema_dir_from(config::EnvReader& env);

/// The JSON Schemas of the Kafka payloads (`schemas/*.json`), loaded once at start-up, and a
/// `validate` that checks one record value against one of them by file name.
///
/// The files declare JSON Schema 2020-12; valijson (Debian's 1.0) implements up to draft 7. Every
/// keyword the files use means the same in both (`$defs` is reached through plain JSON-pointer
/// `$ref`s such as `#/$defs/id`), so they are parsed as draft 7. To keep that from silently
/// weakening a schema, `load` refuses a file that uses a 2020-12 keyword draft 7 would ignore
/// (`prefixItems`, `unevaluatedProperties`, `dependentRequired`, `$dynamicRef`, ...), a `$ref`
/// that is not a local `#/...` pointer, or a `pattern` that std::regex cannot compile.
///
/// Fast accept path: `load` also compiles each file into a `CompiledSchema` (plain checks and byte
/// DFAs for `pattern`, equal to valijson's answers), which decides whether a payload is valid.
/// Only a payload it rejects goes through valijson, which then writes today's exact error message
/// (and, should the two ever disagree, has the last word: the payload is accepted). A file using
/// a keyword the compiler does not handle is validated by valijson alone. Valid payloads never
/// take the mutex.
///
/// Immutable after `load` except for valijson's compiled-regex cache, which a mutex guards:
/// `validate` may be called from any thread. Move-only.
class SchemaValidator {
 public:
  struct LoadOptions {
    /// Compile the schemas for the fast accept path. Off: valijson decides everything (the
    /// reference the differential tests and the benchmark compare against).
    bool compile = true;
  };

  /// Loads every `*.json` file of `dir` (not recursive). Fails with kInvalidInput naming the file
  /// if one does not parse or is refused, and if the directory holds no schema at all.
  [[nodiscard]] static Result<SchemaValidator> load(const std::filesystem::path& dir,
                                                    LoadOptions options);
  [[nodiscard]] static Result<SchemaValidator> load(const std::filesystem::path& dir) {
    return load(dir, LoadOptions{});
  }

  SchemaValidator(SchemaValidator&&) noexcept;
  SchemaValidator& operator=(SchemaValidator&&) noexcept;
  ~SchemaValidator();

  /// Checks `payload` (a record value) against the schema file `schema_name` (e.g.
  /// `send-request.v1.json`). A payload that is not JSON or breaks the schema is
  /// kInvalidInput `"<schema file>: <json pointer>: <what>"`, e.g.
  /// `send-request.v1.json: /tenant: Failed to match regex specified by 'pattern' constraint.`
  /// (the pointer is `(root)` for the document itself). Messages never quote the payload's
  /// values, so they may be logged and put in dead-letter headers. An unknown schema name is
  /// kInternal: that is a wiring bug, not a bad record. A rejected payload with a string of more
  /// than 4096 bytes where a `pattern` applies is reported as such (`<pointer>: String longer
  /// than 4096 bytes is not matched against the 'pattern' constraint.`) without valijson, whose
  /// std::regex would overflow the stack on it (compiled schemas only).
  [[nodiscard]] Result<void> validate(std::string_view schema_name, std::string_view payload) const;

  /// `validate`, handing back the parsed document when the payload is valid, so that a caller
  /// which decodes it next does not parse it a second time. Same errors as `validate`.
  [[nodiscard]] Result<nlohmann::json> parse_valid(std::string_view schema_name,
                                                   std::string_view payload) const;

  /// The loaded file names, sorted.
  [[nodiscard]] std::vector<std::string> schema_names() const;

  /// The loaded file names that have a compiled fast path, sorted (all of `schemas/` should).
  [[nodiscard]] std::vector<std::string> compiled_schema_names() const;

 private:
  struct State;
  explicit SchemaValidator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace otp::schema
