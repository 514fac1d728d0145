#include "common/schema/ecma_pattern.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace otp::schema {
namespace {

using ByteSet = std::bitset<256>;

// Bounds that keep a pathological pattern from costing much memory at start-up; a pattern past
// them keeps std::regex.
constexpr std::size_t kMaxNfaStates = 4096;
constexpr std::size_t kMaxDfaStates = 1024;
constexpr int kMaxRepeat = 1000;

// The parsed pattern.
struct Ast {
  enum class Kind { kBytes, kEmpty, kConcat, kAlternation, kRepeat, kBegin, kEnd };
  Kind kind = Kind::kEmpty;
  ByteSet bytes;
  std::vector<Ast> children;
  int min = 0;
  int max = 0;  // -1: unbounded
};

ByteSet byte_set(std::string_view members) {
  ByteSet out;
  for (char c : members) out.set(static_cast<unsigned char>(c));
  return out;
}

ByteSet byte_range(unsigned char low, unsigned char high) {
  ByteSet out;
  for (unsigned c = low; c <= high; ++c) out.set(c);
  return out;
}

// std::regex's classes come from std::ctype<char> of the global locale, the classic "C" one in
// our processes: no byte above 0x7f is a digit, word character or space.
ByteSet digits() { return byte_range('0', '9'); }
ByteSet word_chars() {
  return byte_range('0', '9') | byte_range('A', 'Z') | byte_range('a', 'z') | byte_set("_");
}
ByteSet spaces() { return byte_set(" \t\n\v\f\r"); }

bool is_syntax_char(char c) {
  return std::string_view("^$\\.*+?()[]{}|").find(c) != std::string_view::npos;
}

// ECMAScript (the subset documented in the header) -> Ast; nullopt for anything outside it.
class Parser {
 public:
  explicit Parser(std::string_view pattern) : text_(pattern) {}

  std::optional<Ast> parse() {
    auto ast = disjunction();
    if (!ast || pos_ != text_.size()) return std::nullopt;
    return ast;
  }

 private:
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }

  std::optional<Ast> disjunction() {
    Ast out{.kind = Ast::Kind::kAlternation};
    while (true) {
      auto branch = alternative();
      if (!branch) return std::nullopt;
      out.children.push_back(std::move(*branch));
      if (at_end() || peek() != '|') break;
      ++pos_;
    }
    if (out.children.size() == 1) return std::move(out.children.front());
    return out;
  }

  std::optional<Ast> alternative() {
    Ast out{.kind = Ast::Kind::kConcat};
    while (!at_end() && peek() != '|' && peek() != ')') {
      auto next = term();
      if (!next) return std::nullopt;
      out.children.push_back(std::move(*next));
    }
    return out;
  }

  std::optional<Ast> term() {
    const char c = peek();
    if (c == '^' || c == '$') {
      ++pos_;
      if (!at_end() && is_quantifier_start(peek())) return std::nullopt;
      return Ast{.kind = c == '^' ? Ast::Kind::kBegin : Ast::Kind::kEnd};
    }
    auto base = atom();
    if (!base) return std::nullopt;
    if (at_end() || !is_quantifier_start(peek())) return base;
    return quantified(std::move(*base));
  }

  static bool is_quantifier_start(char c) { return c == '*' || c == '+' || c == '?' || c == '{'; }

  std::optional<Ast> quantified(Ast base) {
    int min = 0;
    int max = -1;
    const char c = text_[pos_++];
    if (c == '+') {
      min = 1;
    } else if (c == '?') {
      max = 1;
    } else if (c == '{') {
      auto low = number();
      if (!low || at_end()) return std::nullopt;
      min = *low;
      max = *low;
      if (peek() == ',') {
        ++pos_;
        max = -1;
        if (!at_end() && peek() != '}') {
          auto high = number();
          if (!high || *high < min) return std::nullopt;
          max = *high;
        }
      }
      if (at_end() || peek() != '}') return std::nullopt;
      ++pos_;
    }
    if (!at_end() && peek() == '?') ++pos_;  // lazy: the same strings match
    if (!at_end() && is_quantifier_start(peek())) return std::nullopt;
    Ast out{.kind = Ast::Kind::kRepeat, .min = min, .max = max};
    out.children.push_back(std::move(base));
    return out;
  }

  std::optional<int> number() {
    int value = 0;
    std::size_t digits_read = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + (peek() - '0');
      if (value > kMaxRepeat) return std::nullopt;
      ++pos_;
      ++digits_read;
    }
    if (digits_read == 0) return std::nullopt;
    return value;
  }

  std::optional<Ast> atom() {
    const char c = text_[pos_++];
    if (c == '.') return bytes(~byte_set("\n\r"));
    if (c == '(') {
      if (!at_end() && peek() == '?') {
        if (text_.substr(pos_, 2) != "?:") return std::nullopt;  // look-around, named groups
        pos_ += 2;
      }
      auto inner = disjunction();
      if (!inner || at_end() || peek() != ')') return std::nullopt;
      ++pos_;
      return inner;
    }
    if (c == '[') return bracket();
    if (c == '\\') {
      if (at_end()) return std::nullopt;
      const char e = text_[pos_++];
      switch (e) {
        case 'd':
          return bytes(digits());
        case 'D':
          return bytes(~digits());
        case 'w':
          return bytes(word_chars());
        case 'W':
          return bytes(~word_chars());
        case 's':
          return bytes(spaces());
        case 'S':
          return bytes(~spaces());
        default:
          break;
      }
      auto literal = escaped_literal(e);
      if (!literal) return std::nullopt;
      return bytes(byte_set(std::string_view(&*literal, 1)));
    }
    if (is_syntax_char(c)) return std::nullopt;  // a stray ) ] { } * + ? |
    return bytes(byte_set(std::string_view(&c, 1)));
  }

  // The escapes that stand for one byte, in and out of brackets; nullopt for the others (\b, \B,
  // back-references, \x, \u, \c, \0, identity escapes of letters).
  static std::optional<char> escaped_literal(char e) {
    switch (e) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      default:
        break;
    }
    if (is_syntax_char(e) || e == '/') return e;
    return std::nullopt;
  }

  std::optional<Ast> bracket() {
    bool negated = false;
    if (!at_end() && peek() == '^') {
      negated = true;
      ++pos_;
    }
    ByteSet members;
    bool first = true;
    while (true) {
      if (at_end()) return std::nullopt;
      const char c = peek();
      if (c == ']') {
        if (first) return std::nullopt;  // [] and [^]
        ++pos_;
        break;
      }
      first = false;
      if (c == '[') return std::nullopt;  // std::regex reads [: [= [. as POSIX classes
      if (c == '\\') {
        if (pos_ + 1 >= text_.size()) return std::nullopt;
        const char e = text_[pos_ + 1];
        if (e == 'd' || e == 'w' || e == 's') {
          pos_ += 2;
          members |= e == 'd' ? digits() : e == 'w' ? word_chars() : spaces();
          if (!at_end() && peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
            return std::nullopt;  // \d-x
          }
          continue;
        }
      }
      auto low = class_char();
      if (!low) return std::nullopt;
      if (!at_end() && peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
        ++pos_;
        auto high = class_char();
        if (!high) return std::nullopt;
        const auto lo = static_cast<unsigned char>(*low);
        const auto hi = static_cast<unsigned char>(*high);
        // std::regex compares range ends as (signed) char: keep to ASCII, where both agree.
        if (lo > hi || hi > 0x7f) return std::nullopt;
        members |= byte_range(lo, hi);
      } else {
        members.set(static_cast<unsigned char>(*low));
      }
    }
    return bytes(negated ? ~members : members);
  }

  // One member of a bracket (a byte or an escaped one); moves past it.
  std::optional<char> class_char() {
    if (at_end()) return std::nullopt;
    const char c = text_[pos_++];
    if (c != '\\') return c;
    if (at_end()) return std::nullopt;
    const char e = text_[pos_++];
    if (e == '-') return e;
    return escaped_literal(e);
  }

  static Ast bytes(const ByteSet& set) { return Ast{.kind = Ast::Kind::kBytes, .bytes = set}; }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// A Thompson NFA; `^` and `$` are edges taken only at the start and at the end of the text.
struct Nfa {
  struct State {
    std::vector<int> epsilon;
    std::vector<std::pair<std::size_t, int>> on_bytes;  // (index into sets, target)
    std::vector<int> at_begin;
    std::vector<int> at_end;
  };
  std::vector<State> states;
  std::vector<ByteSet> sets;
  int start = 0;
  int match = 0;

  int add() {
    states.emplace_back();
    return static_cast<int>(states.size()) - 1;
  }

  // Adds the states for `ast` after `from`; returns where they end, or -1 past kMaxNfaStates.
  int build(const Ast& ast, int from) {
    if (from < 0 || states.size() > kMaxNfaStates) return -1;
    switch (ast.kind) {
      case Ast::Kind::kEmpty:
        return from;
      case Ast::Kind::kBytes: {
        const int to = add();
        sets.push_back(ast.bytes);
        states[from].on_bytes.emplace_back(sets.size() - 1, to);
        return to;
      }
      case Ast::Kind::kBegin:
      case Ast::Kind::kEnd: {
        const int to = add();
        (ast.kind == Ast::Kind::kBegin ? states[from].at_begin : states[from].at_end).push_back(to);
        return to;
      }
      case Ast::Kind::kConcat: {
        int at = from;
        for (const auto& child : ast.children) at = build(child, at);
        return at;
      }
      case Ast::Kind::kAlternation: {
        const int to = add();
        for (const auto& child : ast.children) {
          const int branch = add();
          states[from].epsilon.push_back(branch);
          const int end = build(child, branch);
          if (end < 0) return -1;
          states[end].epsilon.push_back(to);
        }
        return to;
      }
      case Ast::Kind::kRepeat:
        return build_repeat(ast, from);
    }
    return -1;
  }

  int build_repeat(const Ast& ast, int from) {
    int at = from;
    for (int i = 0; i < ast.min; ++i) at = build(ast.children.front(), at);
    if (at < 0) return -1;
    if (ast.max < 0) {
      const int loop = add();
      states[at].epsilon.push_back(loop);
      const int end = build(ast.children.front(), loop);
      if (end < 0) return -1;
      states[end].epsilon.push_back(loop);
      return loop;
    }
    for (int i = ast.min; i < ast.max; ++i) {
      const int skip = add();
      states[at].epsilon.push_back(skip);
      const int end = build(ast.children.front(), at);
      if (end < 0) return -1;
      states[end].epsilon.push_back(skip);
      at = skip;
    }
    return at;
  }

  // The states reachable from `seeds` without reading a byte; `^` edges only when `at_begin`,
  // `$` edges only when `at_end`. Sorted.
  [[nodiscard]] std::vector<int> closure(std::vector<int> seeds, bool at_begin, bool at_end) const {
    std::vector<bool> seen(states.size());
    std::vector<int> out;
    while (!seeds.empty()) {
      const int s = seeds.back();
      seeds.pop_back();
      if (seen[static_cast<std::size_t>(s)]) continue;
      seen[static_cast<std::size_t>(s)] = true;
      out.push_back(s);
      const State& state = states[static_cast<std::size_t>(s)];
      seeds.insert(seeds.end(), state.epsilon.begin(), state.epsilon.end());
      if (at_begin) seeds.insert(seeds.end(), state.at_begin.begin(), state.at_begin.end());
      if (at_end) seeds.insert(seeds.end(), state.at_end.begin(), state.at_end.end());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

struct EcmaPattern::Impl {
  // The DFA (when the pattern was compiled into one).
  static constexpr std::uint8_t kMatched = 1;      // a match ends here: the text matches
  static constexpr std::uint8_t kAcceptAtEnd = 2;  // matches if the text ends here
  static constexpr std::uint8_t kDead = 4;         // no match can follow
  std::array<std::uint8_t, 256> byte_class{};
  std::size_t classes = 0;
  std::vector<std::uint16_t> next;  // state * classes + class -> state
  std::vector<std::uint8_t> flags;
  bool automaton = false;

  std::optional<std::regex> regex;  // the fallback

  bool build(const Ast& ast);
};

bool EcmaPattern::Impl::build(const Ast& ast) {
  Nfa nfa;
  nfa.start = nfa.add();
  nfa.match = nfa.build(ast, nfa.start);
  if (nfa.match < 0 || nfa.states.size() > kMaxNfaStates) return false;

  // Bytes that every set treats alike share a class (and a column of the table).
  std::map<std::vector<bool>, std::uint8_t> class_of_signature;
  std::vector<unsigned> representative;
  for (unsigned b = 0; b < 256; ++b) {
    std::vector<bool> signature(nfa.sets.size());
    for (std::size_t i = 0; i < nfa.sets.size(); ++i) signature[i] = nfa.sets[i].test(b);
    auto [it, inserted] =
        class_of_signature.emplace(signature, static_cast<std::uint8_t>(representative.size()));
    if (inserted) representative.push_back(b);
    byte_class[b] = it->second;
  }
  classes = representative.size();

  // Subset construction. A new match may start at every position (search, not full match), so
  // each step adds the start state's closure. The state at position 0 is kept apart from any
  // later one with the same NFA states, since only there `^` holds.
  using Key = std::pair<std::vector<int>, bool>;
  std::map<Key, std::uint16_t> index;
  std::vector<Key> keys;
  const std::vector<int> restart = nfa.closure({nfa.start}, false, false);
  auto state_of = [&](Key key) -> int {
    auto found = index.find(key);
    if (found != index.end()) return found->second;
    if (keys.size() >= kMaxDfaStates) return -1;
    const auto id = static_cast<std::uint16_t>(keys.size());
    index.emplace(key, id);
    keys.push_back(std::move(key));
    return id;
  };
  state_of({nfa.closure({nfa.start}, true, false), true});
  for (std::size_t s = 0; s < keys.size(); ++s) {
    next.resize((s + 1) * classes);
    for (std::size_t c = 0; c < classes; ++c) {
      std::vector<int> targets = restart;
      for (int n : keys[s].first) {
        for (const auto& [set, to] : nfa.states[static_cast<std::size_t>(n)].on_bytes) {
          if (nfa.sets[set].test(representative[c])) targets.push_back(to);
        }
      }
      const int to = state_of({nfa.closure(std::move(targets), false, false), false});
      if (to < 0) return false;
      next[s * classes + c] = static_cast<std::uint16_t>(to);
    }
  }

  flags.assign(keys.size(), 0);
  for (std::size_t s = 0; s < keys.size(); ++s) {
    const auto& [set, initial] = keys[s];
    if (std::binary_search(set.begin(), set.end(), nfa.match)) flags[s] |= kMatched;
    const auto at_end = nfa.closure(set, initial, true);
    if (std::binary_search(at_end.begin(), at_end.end(), nfa.match)) flags[s] |= kAcceptAtEnd;
  }
  // Dead: no state reachable from it matches (e.g. after a wrong first byte under `^`).
  std::vector<bool> live(keys.size());
  for (std::size_t s = 0; s < keys.size(); ++s) live[s] = flags[s] != 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t s = 0; s < keys.size(); ++s) {
      if (live[s]) continue;
      for (std::size_t c = 0; c < classes && !live[s]; ++c) {
        if (live[next[s * classes + c]]) live[s] = changed = true;
      }
    }
  }
  for (std::size_t s = 0; s < keys.size(); ++s) {
    if (!live[s]) flags[s] |= kDead;
  }
  automaton = true;
  return true;
}

EcmaPattern EcmaPattern::compile(std::string_view pattern) {
  auto impl = std::make_unique<Impl>();
  // Always compiled first, so that a pattern std::regex refuses is refused here too.
  std::regex regex{std::string(pattern)};
  auto ast = Parser(pattern).parse();
  if (!ast || !impl->build(*ast)) {
    impl->automaton = false;
    impl->regex = std::move(regex);
  }
  return EcmaPattern(std::move(impl));
}

EcmaPattern::EcmaPattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EcmaPattern::EcmaPattern(EcmaPattern&&) noexcept = default;
EcmaPattern& EcmaPattern::operator=(EcmaPattern&&) noexcept = default;
EcmaPattern::~EcmaPattern() = default;

bool EcmaPattern::search(std::string_view text) const {
  const Impl& dfa = *impl_;
  if (!dfa.automaton) return std::regex_search(text.begin(), text.end(), *dfa.regex);
  std::size_t state = 0;
  for (const char c : text) {
    const std::uint8_t flags = dfa.flags[state];
    if (flags & Impl::kMatched) return true;
    if (flags & Impl::kDead) return false;
    state = dfa.next[state * dfa.classes + dfa.byte_class[static_cast<unsigned char>(c)]];
  }
  return (dfa.flags[state] & (Impl::kMatched | Impl::kAcceptAtEnd)) != 0;
}

bool EcmaPattern::is_automaton() const noexcept { return impl_->automaton; }

}  // namespace otp::schema
