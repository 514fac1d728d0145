#include "common/schema/compiled_schema.h"

#include "common/schema/ecma_pattern.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace otp::schema {

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using json = nlohmann::json;

// JSON value kinds as `type` sees them under kStrongTypes.
enum TypeBit : std::uint8_t {
  kNull = 1,
  kBoolean = 2,
  kInteger = 4,  // an integer token (signed or unsigned)
  kFloat = 8,    // a number with a fraction or exponent: a number, never an integer
  kString = 16,
  kArray = 32,
  kObject = 64,
  kAnyType = 127,
};

std::uint8_t type_bit(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return kNull;
    case json::value_t::boolean:
      return kBoolean;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return kInteger;
    case json::value_t::number_float:
      return kFloat;
    case json::value_t::string:
      return kString;
    case json::value_t::array:
      return kArray;
    case json::value_t::object:
      return kObject;
    default:
      return 0;
  }
}

// valijson reads every integer through int64_t (an unsigned above INT64_MAX wraps) and compares
// numbers as doubles.
double number_of(const json& value) {
  if (value.is_number_float()) return value.get<double>();
  return static_cast<double>(value.get<std::int64_t>());
}

// valijson's strict equalTo, from the schema's value `expected` to the document's `actual`.
bool strictly_equal(const json& expected, const json& actual) {
  switch (expected.type()) {
    case json::value_t::null:
      return actual.is_null();
    case json::value_t::boolean:
      return actual.is_boolean() && actual.get<bool>() == expected.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return actual.is_number() && number_of(actual) == number_of(expected);
    case json::value_t::string:
      return actual.is_string() &&
             actual.get_ref<const std::string&>() == expected.get_ref<const std::string&>();
    case json::value_t::array: {
      if (!actual.is_array() || actual.size() != expected.size()) return false;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        if (!strictly_equal(expected[i], actual[i])) return false;
      }
      return true;
    }
    case json::value_t::object: {
      if (!actual.is_object() || actual.size() != expected.size()) return false;
      for (const auto& [key, value] : actual.items()) {
        auto found = expected.find(key);
        if (found == expected.end() || !strictly_equal(*found, value)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// A property name checked by `propertyNames`: valijson wraps it in its StdStringAdapter, which is
// a string and nothing else under strict types.
struct PropertyName {
  std::string_view text;
};

std::uint8_t type_bit(const PropertyName&) { return kString; }

bool strictly_equal(const json& expected, const PropertyName& actual) {
  return expected.is_string() && expected.get_ref<const std::string&>() == actual.text;
}

// Code points as valijson's u8_strlen counts them: up to the first NUL byte, one per byte that
// does not continue a UTF-8 sequence.
std::uint64_t code_points(std::string_view text) {
  std::uint64_t count = 0;
  for (const char c : text) {
    if (c == '\0') break;
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return count;
}

struct Bound {
  double value;
  bool is_maximum;
  bool exclusive;
};

struct Property {
  std::string name;
  int node;
  bool required;
};

constexpr int kAllowAll = -1;  // additionalProperties absent or true
constexpr int kForbid = -2;    // additionalProperties false

struct Node {
  bool always_false = false;  // the boolean schema false
  std::uint8_t types = kAnyType;

  // strings
  std::uint64_t min_length = 0;
  std::uint64_t max_length = std::numeric_limits<std::uint64_t>::max();
  bool checks_length = false;
  int pattern = -1;  // index into Program::patterns

  // numbers
  std::vector<Bound> bounds;

  // objects
  bool checks_object = false;
  bool checks_members = false;       // properties, additionalProperties or required
  std::vector<Property> properties;  // sorted by name (the order of nlohmann's std::map)
  std::size_t required_properties = 0;
  std::vector<std::string> required_elsewhere;  // required names without a `properties` entry
  int additional = kAllowAll;
  std::uint64_t min_properties = 0;
  std::uint64_t max_properties = std::numeric_limits<std::uint64_t>::max();
  int property_names = -1;

  // arrays
  bool checks_array = false;
  int items = -1;
  std::uint64_t min_items = 0;
  std::uint64_t max_items = std::numeric_limits<std::uint64_t>::max();
  bool unique_items = false;

  // any value
  std::optional<std::vector<json>> enum_values;
  std::optional<json> const_value;
  std::vector<int> all_of;
  std::vector<int> any_of;
  std::vector<int> one_of;
  int not_schema = -1;
  int if_schema = -1;
  int then_schema = -1;
  int else_schema = -1;
};

// Keywords valijson 1.0 applies (draft 7) that this compiler does not: a schema using one keeps
// valijson. Keywords valijson does not know at all are annotations to both.
// (`additionalItems` needs `items` as an array, which is not compiled either.)
constexpr std::string_view kNotCompiled[] = {"format",   "patternProperties", "dependencies",
                                             "contains", "multipleOf",        "divisibleBy"};

}  // namespace

struct CompiledSchema::Program {
  int root = 0;
  std::vector<Node> nodes;
  std::vector<EcmaPattern> patterns;

  template <class Value>
  [[nodiscard]] bool accepts(int index, const Value& value) const;

  [[nodiscard]] bool accepts_members(const Node& node, const json::object_t& object) const;

  // Appends to `path` the pointer of the first over-long string under a pattern; true if found.
  bool find_long_pattern_input(int index, const json& value, std::size_t max_bytes,
                               std::string& path) const;
  [[nodiscard]] bool accepts_string(const Node& node, std::string_view text) const;
};

namespace {

// Schema document -> Program. Subschemas are compiled once per JSON pointer, so `$ref` cycles
// become cycles of node indices.
class Compiler {
 public:
  Compiler(const json& root, std::vector<Node>& nodes, std::vector<EcmaPattern>& patterns)
      : root_(root), nodes_(nodes), patterns_(patterns) {}

  Result<int> compile(const json& node, const std::string& pointer, int depth = 0) {
    if (depth > 64) return refuse(pointer, "$ref chain too long");
    if (node.is_boolean()) {
      auto index = add_node(pointer);
      nodes_[static_cast<std::size_t>(index)].always_false = !node.get<bool>();
      return index;
    }
    if (!node.is_object()) return refuse(pointer, "a schema must be an object or a boolean");
    if (auto ref = node.find("$ref"); ref != node.end()) {
      if (!ref->is_string()) return refuse(pointer + "/$ref", "not a string");
      const auto& target = ref->get_ref<const std::string&>();
      if (!target.starts_with("#") || target.find('%') != std::string::npos) {
        return refuse(pointer + "/$ref", "only plain local JSON pointers are compiled");
      }
      const std::string target_pointer = target.substr(1);
      if (auto done = compiled_.find(target_pointer); done != compiled_.end()) return done->second;
      const json* referenced = nullptr;
      try {
        referenced = &root_.at(json::json_pointer(target_pointer));
      } catch (const json::exception&) {
        return refuse(pointer + "/$ref", "does not resolve");
      }
      auto index = compile(*referenced, target_pointer, depth + 1);
      if (index) compiled_.emplace(pointer, *index);
      return index;
    }
    if (auto done = compiled_.find(pointer); done != compiled_.end()) return done->second;
    const int index = add_node(pointer);
    if (auto filled = fill(index, node, pointer); !filled) return tl::unexpected(filled.error());
    return index;
  }

 private:
  static Error refuse_error(const std::string& pointer, std::string_view why) {
    return Error{Errc::kInvalidInput,
                 (pointer.empty() ? std::string("(root)") : pointer) + ": " + std::string(why)};
  }
  static tl::unexpected<Error> refuse(const std::string& pointer, std::string_view why) {
    return tl::unexpected(refuse_error(pointer, why));
  }

  int add_node(const std::string& pointer) {
    nodes_.emplace_back();
    const int index = static_cast<int>(nodes_.size()) - 1;
    compiled_.emplace(pointer, index);
    return index;
  }

  Node& at(int index) { return nodes_[static_cast<std::size_t>(index)]; }

  static std::optional<std::uint64_t> count(const json& value) {
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0) return std::nullopt;
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }

  Result<int> child(const json& node, const std::string& pointer) { return compile(node, pointer); }

  Result<std::vector<int>> children(const json& list, const std::string& pointer) {
    if (!list.is_array() || list.empty()) return refuse(pointer, "expected a non-empty array");
    std::vector<int> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto index = child(list[i], pointer + "/" + std::to_string(i));
      if (!index) return tl::unexpected(index.error());
      out.push_back(*index);
    }
    return out;
  }

  // Fills node `index` from the keywords of `schema`. Nodes are re-fetched by index after each
  // child compilation, which may grow the vector.
  Result<void> fill(int index, const json& schema, const std::string& pointer) {
    for (const auto& [key, value] : schema.items()) {
      if (std::find(std::begin(kNotCompiled), std::end(kNotCompiled), key) !=
          std::end(kNotCompiled)) {
        return refuse(pointer + "/" + escape_pointer_token(key), "keyword not compiled");
      }
    }
    auto keyword = [&](const char* name) -> const json* {
      auto found = schema.find(name);
      return found == schema.end() ? nullptr : &*found;
    };
    auto path = [&](const char* name) { return pointer + "/" + name; };

    if (const json* type = keyword("type")) {
      std::uint8_t types = 0;
      const json names = type->is_array() ? *type : json::array({*type});
      if (names.empty()) return refuse(path("type"), "empty");
      for (const auto& name : names) {
        if (!name.is_string()) return refuse(path("type"), "type names must be strings");
        const auto& text = name.get_ref<const std::string&>();
        if (text == "null") {
          types |= kNull;
        } else if (text == "boolean") {
          types |= kBoolean;
        } else if (text == "integer") {
          types |= kInteger;
        } else if (text == "number") {
          types |= kInteger | kFloat;
        } else if (text == "string") {
          types |= kString;
        } else if (text == "array") {
          types |= kArray;
        } else if (text == "object") {
          types |= kObject;
        } else if (text == "any") {
          types |= kAnyType;
        } else {
          return refuse(path("type"), "unknown type name");
        }
      }
      at(index).types = types;
    }
    if (const json* values = keyword("enum")) {
      if (!values->is_array()) return refuse(path("enum"), "not an array");
      at(index).enum_values = values->get<std::vector<json>>();
    }
    if (const json* value = keyword("const")) at(index).const_value = *value;

    for (const char* name :
         {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      const json* value = keyword(name);
      if (!value) continue;
      auto n = count(*value);
      if (!n) return refuse(path(name), "expected a non-negative integer");
      const std::string_view k = name;
      Node& node = at(index);
      if (k == "minLength") node.min_length = *n;
      if (k == "maxLength") node.max_length = *n;
      if (k == "minItems") node.min_items = *n;
      if (k == "maxItems") node.max_items = *n;
      if (k == "minProperties") node.min_properties = *n;
      if (k == "maxProperties") node.max_properties = *n;
      node.checks_length |= k.ends_with("Length");
      node.checks_array |= k.ends_with("Items");
      node.checks_object |= k.ends_with("Properties");
    }
    if (const json* pattern = keyword("pattern")) {
      if (!pattern->is_string()) return refuse(path("pattern"), "not a string");
      try {
        patterns_.push_back(EcmaPattern::compile(pattern->get_ref<const std::string&>()));
      } catch (const std::regex_error&) {
        return refuse(path("pattern"), "does not compile");
      }
      at(index).pattern = static_cast<int>(patterns_.size()) - 1;
    }
    for (const char* name : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
      const json* value = keyword(name);
      if (!value) continue;
      if (!value->is_number()) return refuse(path(name), "expected a number");
      const std::string_view k = name;
      at(index).bounds.push_back(Bound{.value = number_of(*value),
                                       .is_maximum = k.ends_with("aximum"),
                                       .exclusive = k.starts_with("exclusive")});
    }
    if (const json* unique = keyword("uniqueItems")) {
      if (!unique->is_boolean()) return refuse(path("uniqueItems"), "expected a boolean");
      at(index).unique_items = unique->get<bool>();
      at(index).checks_array |= unique->get<bool>();
    }
    if (const json* items = keyword("items")) {
      if (items->is_array()) return refuse(path("items"), "items as an array is not compiled");
      auto item = child(*items, path("items"));
      if (!item) return tl::unexpected(item.error());
      at(index).items = *item;
      at(index).checks_array = true;
    }
    if (auto members = fill_members(index, schema, pointer); !members) return members;
    if (const json* names = keyword("propertyNames")) {
      auto names_index = child(*names, path("propertyNames"));
      if (!names_index) return tl::unexpected(names_index.error());
      at(index).property_names = *names_index;
      at(index).checks_object = true;
    }
    for (const char* name : {"allOf", "anyOf", "oneOf"}) {
      const json* list = keyword(name);
      if (!list) continue;
      auto indices = children(*list, path(name));
      if (!indices) return tl::unexpected(indices.error());
      const std::string_view k = name;
      Node& node = at(index);
      (k == "allOf" ? node.all_of : k == "anyOf" ? node.any_of : node.one_of) = *indices;
    }
    if (const json* negated = keyword("not")) {
      auto not_index = child(*negated, path("not"));
      if (!not_index) return tl::unexpected(not_index.error());
      at(index).not_schema = *not_index;
    }
    if (const json* condition = keyword("if")) {
      auto if_index = child(*condition, path("if"));
      if (!if_index) return tl::unexpected(if_index.error());
      at(index).if_schema = *if_index;
      for (const char* name : {"then", "else"}) {
        const json* branch = keyword(name);
        if (!branch) continue;
        auto branch_index = child(*branch, path(name));
        if (!branch_index) return tl::unexpected(branch_index.error());
        (std::string_view(name) == "then" ? at(index).then_schema : at(index).else_schema) =
            *branch_index;
      }
    }
    return {};
  }

  Result<void> fill_members(int index, const json& schema, const std::string& pointer) {
    std::set<std::string> required;
    if (auto list = schema.find("required"); list != schema.end()) {
      if (!list->is_array()) return refuse(pointer + "/required", "not an array");
      for (const auto& name : *list) {
        // valijson looks names up through c_str(): a NUL would cut them short.
        if (!name.is_string() ||
            name.get_ref<const std::string&>().find('\0') != std::string::npos) {
          return refuse(pointer + "/required", "names must be strings without NUL");
        }
        required.insert(name.get<std::string>());
      }
      at(index).checks_members = at(index).checks_object = true;
    }
    std::vector<Property> properties;
    if (auto map = schema.find("properties"); map != schema.end()) {
      if (!map->is_object()) return refuse(pointer + "/properties", "not an object");
      for (const auto& [name, subschema] : map->items()) {
        if (name.find('\0') != std::string::npos) {
          return refuse(pointer + "/properties", "a name with NUL is not compiled");
        }
        auto property = child(subschema, pointer + "/properties/" + escape_pointer_token(name));
        if (!property) return tl::unexpected(property.error());
        properties.push_back(Property{.name = name, .node = *property, .required = false});
      }
      at(index).checks_members = at(index).checks_object = true;
    }
    if (auto additional = schema.find("additionalProperties"); additional != schema.end()) {
      if (additional->is_boolean()) {
        at(index).additional = additional->get<bool>() ? kAllowAll : kForbid;
      } else {
        auto additional_index = child(*additional, pointer + "/additionalProperties");
        if (!additional_index) return tl::unexpected(additional_index.error());
        at(index).additional = *additional_index;
      }
      at(index).checks_members = at(index).checks_object = true;
    }
    std::sort(properties.begin(), properties.end(),
              [](const Property& a, const Property& b) { return a.name < b.name; });
    Node& node = at(index);
    for (auto& property : properties) {
      property.required = required.erase(property.name) > 0;
      node.required_properties += property.required;
    }
    node.properties = std::move(properties);
    node.required_elsewhere.assign(required.begin(), required.end());
    return {};
  }

  const json& root_;
  std::vector<Node>& nodes_;
  std::vector<EcmaPattern>& patterns_;
  std::map<std::string, int> compiled_;  // JSON pointer -> node
};

}  // namespace

bool CompiledSchema::Program::accepts_string(const Node& node, std::string_view text) const {
  if (node.checks_length) {
    // A code point takes at least one byte, so the byte count bounds the count from above.
    if (text.size() < node.min_length) return false;
    if (node.min_length > 0 || text.size() > node.max_length) {
      const std::uint64_t length = code_points(text);
      if (length < node.min_length || length > node.max_length) return false;
    }
  }
  return node.pattern < 0 || patterns[static_cast<std::size_t>(node.pattern)].search(text);
}

bool CompiledSchema::Program::accepts_members(const Node& node,
                                              const json::object_t& object) const {
  // Both sides are sorted by name: one merge walk matches members to `properties`, counts the
  // required ones and sends the rest to additionalProperties.
  auto property = node.properties.begin();
  const auto properties_end = node.properties.end();
  std::size_t required_seen = 0;
  for (const auto& [name, value] : object) {
    int comparison = 1;
    while (property != properties_end && (comparison = property->name.compare(name)) < 0) {
      ++property;
    }
    if (property != properties_end && comparison == 0) {
      if (!accepts(property->node, value)) return false;
      required_seen += property->required;
      ++property;
      continue;
    }
    if (node.additional == kForbid) return false;
    if (node.additional >= 0 && !accepts(node.additional, value)) return false;
  }
  if (required_seen != node.required_properties) return false;
  for (const auto& name : node.required_elsewhere) {
    if (object.find(name) == object.end()) return false;
  }
  return true;
}

template <class Value>
bool CompiledSchema::Program::accepts(int index, const Value& value) const {
  const Node& node = nodes[static_cast<std::size_t>(index)];
  if (node.always_false) return false;
  const std::uint8_t type = type_bit(value);
  if ((node.types & type) == 0) return false;

  if constexpr (std::is_same_v<Value, PropertyName>) {
    if (!accepts_string(node, value.text)) return false;
  } else {
    switch (type) {
      case kString:
        if (!accepts_string(node, value.template get_ref<const std::string&>())) return false;
        break;
      case kInteger:
      case kFloat:
        if (!node.bounds.empty()) {
          const double number = number_of(value);
          for (const Bound& bound : node.bounds) {
            const bool within =
                bound.is_maximum ? (bound.exclusive ? number < bound.value : number <= bound.value)
                                 : (bound.exclusive ? number > bound.value : number >= bound.value);
            if (!within) return false;
          }
        }
        break;
      case kObject:
        if (node.checks_object) {
          const auto& object = value.template get_ref<const json::object_t&>();
          if (object.size() < node.min_properties || object.size() > node.max_properties) {
            return false;
          }
          if (node.checks_members && !accepts_members(node, object)) return false;
          if (node.property_names >= 0) {
            for (const auto& member : object) {
              if (!accepts(node.property_names, PropertyName{member.first})) return false;
            }
          }
        }
        break;
      case kArray:
        if (node.checks_array) {
          const auto& array = value.template get_ref<const json::array_t&>();
          if (array.size() < node.min_items || array.size() > node.max_items) return false;
          if (node.items >= 0) {
            for (const auto& item : array) {
              if (!accepts(node.items, item)) return false;
            }
          }
          if (node.unique_items) {
            for (std::size_t i = 0; i < array.size(); ++i) {
              for (std::size_t j = i + 1; j < array.size(); ++j) {
                if (strictly_equal(array[i], array[j])) return false;
              }
            }
          }
        }
        break;
      default:
        break;
    }
  }

  if (node.const_value && !strictly_equal(*node.const_value, value)) return false;
  if (node.enum_values) {
    const auto& values = *node.enum_values;
    if (std::none_of(values.begin(), values.end(),
                     [&](const json& expected) { return strictly_equal(expected, value); })) {
      return false;
    }
  }
  for (int sub : node.all_of) {
    if (!accepts(sub, value)) return false;
  }
  if (!node.any_of.empty() && std::none_of(node.any_of.begin(), node.any_of.end(),
                                           [&](int sub) { return accepts(sub, value); })) {
    return false;
  }
  if (!node.one_of.empty()) {
    int matched = 0;
    for (int sub : node.one_of) {
      if (accepts(sub, value) && ++matched > 1) return false;
    }
    if (matched != 1) return false;
  }
  if (node.not_schema >= 0 && accepts(node.not_schema, value)) return false;
  if (node.if_schema >= 0) {
    const int branch = accepts(node.if_schema, value) ? node.then_schema : node.else_schema;
    if (branch >= 0 && !accepts(branch, value)) return false;
  }
  return true;
}

bool CompiledSchema::Program::find_long_pattern_input(int index, const json& value,
                                                      std::size_t max_bytes,
                                                      std::string& path) const {
  const Node& node = nodes[static_cast<std::size_t>(index)];
  if (node.always_false) return false;
  if (value.is_string() && node.pattern >= 0 &&
      value.get_ref<const std::string&>().size() > max_bytes) {
    return true;
  }
  auto below = [&](int sub, const json& child, std::string_view token) {
    if (sub < 0) return false;
    const std::size_t length = path.size();
    path += '/';
    for (const char c : token) path += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    if (find_long_pattern_input(sub, child, max_bytes, path)) return true;
    path.resize(length);
    return false;
  };
  if (value.is_object()) {
    for (const auto& [name, member] : value.items()) {
      auto property =
          std::lower_bound(node.properties.begin(), node.properties.end(), name,
                           [](const Property& p, const std::string& key) { return p.name < key; });
      const bool named = property != node.properties.end() && property->name == name;
      if (below(named ? property->node : node.additional, member, name)) return true;
      if (node.property_names >= 0 && name.size() > max_bytes &&
          below(node.property_names, json(name), name)) {
        return true;
      }
    }
  } else if (value.is_array() && node.items >= 0) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (below(node.items, value[i], std::to_string(i))) return true;
    }
  }
  // valijson evaluates every branch of these on the same value (if: then or else; both here).
  for (const auto* list : {&node.all_of, &node.any_of, &node.one_of}) {
    for (int sub : *list) {
      if (find_long_pattern_input(sub, value, max_bytes, path)) return true;
    }
  }
  for (int sub : {node.not_schema, node.if_schema, node.then_schema, node.else_schema}) {
    if (sub >= 0 && find_long_pattern_input(sub, value, max_bytes, path)) return true;
  }
  return false;
}

Result<CompiledSchema> CompiledSchema::compile(const nlohmann::json& document) {
  auto program = std::make_unique<Program>();
  Compiler compiler(document, program->nodes, program->patterns);
  auto root = compiler.compile(document, "");
  if (!root) return tl::unexpected(root.error());
  program->root = *root;
  return CompiledSchema(std::move(program));
}

CompiledSchema::CompiledSchema(std::unique_ptr<const Program> program)
    : program_(std::move(program)) {}
CompiledSchema::CompiledSchema(CompiledSchema&&) noexcept = default;
CompiledSchema& CompiledSchema::operator=(CompiledSchema&&) noexcept = default;
CompiledSchema::~CompiledSchema() = default;

std::optional<std::string> CompiledSchema::long_pattern_input(const nlohmann::json& value,
                                                              std::size_t max_bytes) const {
  std::string path;
  if (!program_->find_long_pattern_input(program_->root, value, max_bytes, path)) {
    return std::nullopt;
  }
  return path.empty() ? std::string("(root)") : path;
}

bool CompiledSchema::accepts(const nlohmann::json& value) const {
  return program_->accepts(program_->root, value);
}

}  // namespace otp::schema
