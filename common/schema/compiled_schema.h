#pragma once

#include "common/error/error.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace otp::schema {

/// `token` as one JSON Pointer reference token (RFC 6901: `~` -> `~0`, `/` -> `~1`).
[[nodiscard]] std::string escape_pointer_token(std::string_view token);

/// One schema file compiled into a tree of plain checks: the fast accept path of
/// `SchemaValidator`. `accepts` answers exactly what valijson 1.0 answers for draft 7 with
/// `kStrongTypes`, as `SchemaValidator` configures it, for the keywords it compiles:
///
/// - `type` (`integer` is an integer token only, so 1.0 is a number but not an integer), `enum`
///   and `const` (valijson's strict equality: numbers compare as doubles, so 1 equals 1.0;
///   arrays and objects deeply);
/// - `minLength`/`maxLength` (code points up to the first NUL, as valijson counts them),
///   `pattern` (`EcmaPattern`: std::regex_search's answer);
/// - `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum` (compared as doubles; an integer
///   above INT64_MAX wraps as valijson's int64 read does);
/// - `properties`, `additionalProperties`, `required`, `propertyNames`, `minProperties`,
///   `maxProperties`; `items` (one schema), `minItems`, `maxItems`, `uniqueItems`;
/// - `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, boolean schemas, local `$ref`
///   (siblings ignored, as draft 7 says and valijson does);
/// - annotations and keywords valijson ignores are ignored.
///
/// A schema using any other keyword valijson implements (`format`, `patternProperties`,
/// `dependencies`, `contains`, `multipleOf`, `items` as an array, ...) does not compile: `compile`
/// fails and the caller keeps valijson for that file.
///
/// Immutable after `compile`; `accepts` may be called from any thread and allocates nothing.
/// Move-only.
class CompiledSchema {
 public:
  /// Compiles a schema document (one `schemas/*.json` file, already checked by
  /// `SchemaValidator::load`). Fails with kInvalidInput naming, as a JSON pointer into the file,
  /// the first keyword or value it does not compile.
  [[nodiscard]] static Result<CompiledSchema> compile(const nlohmann::json& document);

  CompiledSchema(CompiledSchema&&) noexcept;
  CompiledSchema& operator=(CompiledSchema&&) noexcept;
  ~CompiledSchema();

  /// Whether `value` is valid against the schema. Assumes the strings of `value` are valid
  /// UTF-8, as nlohmann::json::parse guarantees.
  [[nodiscard]] bool accepts(const nlohmann::json& value) const;

  /// The JSON pointer (`(root)` for the document itself) of the first string longer than
  /// `max_bytes` that valijson would match against a `pattern` while validating `value` (in any
  /// branch it evaluates), or nullopt. valijson matches with std::regex, whose libstdc++ executor
  /// recurses once per repeated character: a string of some 100 KB overflows the stack.
  [[nodiscard]] std::optional<std::string> long_pattern_input(const nlohmann::json& value,
                                                              std::size_t max_bytes) const;

 private:
  struct Program;
  explicit CompiledSchema(std::unique_ptr<const Program> program);
  std::unique_ptr<const Program> program_;
};

}  // namespace otp::schema
