#include "common/phone/digit_pattern.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

namespace otp::phone {
namespace {

constexpr std::uint16_t kAllDigits = 0x3ff;
// Bounded repetition is expanded into copies; metadata never needs more than a few dozen.
constexpr int kMaxRepeat = 64;
constexpr std::size_t kMaxNfaStates = 100000;

struct Node {
  enum class Kind { kEmpty, kDigits, kEnd, kConcat, kAlternation, kRepeat };
  Kind kind = Kind::kEmpty;
  std::uint16_t digits = 0;  // kDigits: bit d set = digit d matches
  int min = 0;               // kRepeat
  int max = 0;               // kRepeat, -1 = unbounded
  std::vector<Node> children;
};

// Recursive descent over the subset documented in the header; any other syntax fails.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::optional<Node> parse() {
    auto node = alternation();
    if (!node || pos_ != text_.size()) return std::nullopt;
    return node;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  std::optional<Node> alternation() {
    Node alt{.kind = Node::Kind::kAlternation};
    while (true) {
      auto branch = concatenation();
      if (!branch) return std::nullopt;
      alt.children.push_back(std::move(*branch));
      if (at_end() || peek() != '|') break;
      ++pos_;
    }
    if (alt.children.size() == 1) return std::move(alt.children.front());
    return alt;
  }

  std::optional<Node> concatenation() {
    Node concat{.kind = Node::Kind::kConcat};
    while (!at_end() && peek() != '|' && peek() != ')') {
      auto item = repetition();
      if (!item) return std::nullopt;
      concat.children.push_back(std::move(*item));
    }
    return concat;
  }

  std::optional<Node> repetition() {
    auto node = atom();
    if (!node) return std::nullopt;
    while (!at_end()) {
      int min = 0;
      int max = 0;
      const char c = peek();
      if (c == '?') {
        min = 0, max = 1;
        ++pos_;
      } else if (c == '*') {
        min = 0, max = -1;
        ++pos_;
      } else if (c == '+') {
        min = 1, max = -1;
        ++pos_;
      } else if (c == '{') {
        ++pos_;
        auto lower = number();
        if (!lower) return std::nullopt;
        min = max = *lower;
        if (!at_end() && peek() == ',') {
          ++pos_;
          max = -1;
          if (!at_end() && peek() != '}') {
            auto upper = number();
            if (!upper || *upper < min) return std::nullopt;
            max = *upper;
          }
        }
        if (at_end() || peek() != '}') return std::nullopt;
        ++pos_;
      } else {
        break;
      }
      if (min > kMaxRepeat || max > kMaxRepeat) return std::nullopt;
      // A lazy quantifier matches the same strings; a possessive one ("?+") would not.
      if (!at_end() && peek() == '?') ++pos_;
      if (!at_end() && peek() == '+') return std::nullopt;
      Node repeat{.kind = Node::Kind::kRepeat, .min = min, .max = max};
      repeat.children.push_back(std::move(*node));
      node = std::move(repeat);
    }
    return node;
  }

  std::optional<int> number() {
    int value = 0;
    const std::size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9' && pos_ - start < 4) {
      value = value * 10 + (peek() - '0');
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return value;
  }

  std::optional<Node> atom() {
    const char c = peek();
    ++pos_;
    if (c >= '0' && c <= '9') {
      return Node{.kind = Node::Kind::kDigits,
                  .digits = static_cast<std::uint16_t>(1U << (c - '0'))};
    }
    if (c == '$') return Node{.kind = Node::Kind::kEnd};
    if (c == '\\') {
      if (at_end() || peek() != 'd') return std::nullopt;
      ++pos_;
      return Node{.kind = Node::Kind::kDigits, .digits = kAllDigits};
    }
    if (c == '[') return digit_class();
    if (c == '(') {
      if (!at_end() && peek() == '?') {
        if (pos_ + 1 >= text_.size() || text_[pos_ + 1] != ':') return std::nullopt;
        pos_ += 2;
      }
      auto inner = alternation();
      if (!inner || at_end() || peek() != ')') return std::nullopt;
      ++pos_;
      return inner;
    }
    return std::nullopt;
  }

  std::optional<Node> digit_class() {
    bool negated = false;
    if (!at_end() && peek() == '^') {
      negated = true;
      ++pos_;
    }
    std::uint16_t digits = 0;
    bool first = true;
    while (!at_end() && (peek() != ']' || first)) {
      first = false;
      const char c = peek();
      ++pos_;
      if (c == '\\') {
        if (at_end() || peek() != 'd') return std::nullopt;
        ++pos_;
        digits |= kAllDigits;
        continue;
      }
      if (c < '0' || c > '9') return std::nullopt;
      char last = c;
      if (pos_ + 1 < text_.size() && peek() == '-' && text_[pos_ + 1] != ']') {
        last = text_[pos_ + 1];
        if (last < c || last > '9') return std::nullopt;
        pos_ += 2;
      }
      for (char d = c; d <= last; ++d) digits |= static_cast<std::uint16_t>(1U << (d - '0'));
    }
    if (at_end()) return std::nullopt;
    ++pos_;  // ']'
    if (negated) digits = static_cast<std::uint16_t>(~digits & kAllDigits);
    return Node{.kind = Node::Kind::kDigits, .digits = digits};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Thompson construction: each state either reads a digit in `digits` and goes to `next`, or
// moves without input along `epsilon`, or (only at the end of the input) along `at_end`.
struct NfaState {
  std::uint16_t digits = 0;
  int next = -1;
  std::vector<int> epsilon;
  std::vector<int> at_end;
};

class Nfa {
 public:
  struct Fragment {
    int start;
    int end;
  };

  std::optional<Fragment> build(const Node& node) {
    if (states_.size() > kMaxNfaStates) return std::nullopt;
    switch (node.kind) {
      case Node::Kind::kEmpty: {
        const int s = add();
        return Fragment{s, s};
      }
      case Node::Kind::kDigits: {
        const int s = add();
        const int e = add();
        states_[s].digits = node.digits;
        states_[s].next = e;
        return Fragment{s, e};
      }
      case Node::Kind::kEnd: {
        const int s = add();
        const int e = add();
        states_[s].at_end.push_back(e);
        return Fragment{s, e};
      }
      case Node::Kind::kConcat: {
        const int s = add();
        int end = s;
        for (const auto& child : node.children) {
          auto f = build(child);
          if (!f) return std::nullopt;
          states_[end].epsilon.push_back(f->start);
          end = f->end;
        }
        return Fragment{s, end};
      }
      case Node::Kind::kAlternation: {
        const int s = add();
        const int e = add();
        for (const auto& child : node.children) {
          auto f = build(child);
          if (!f) return std::nullopt;
          states_[s].epsilon.push_back(f->start);
          states_[f->end].epsilon.push_back(e);
        }
        return Fragment{s, e};
      }
      case Node::Kind::kRepeat:
        return repeat(node.children.front(), node.min, node.max);
    }
    return std::nullopt;
  }

  const std::vector<NfaState>& states() const { return states_; }

 private:
  int add() {
    states_.emplace_back();
    return static_cast<int>(states_.size() - 1);
  }

  std::optional<Fragment> repeat(const Node& child, int min, int max) {
    const int s = add();
    int end = s;
    for (int i = 0; i < min; ++i) {
      auto f = build(child);
      if (!f) return std::nullopt;
      states_[end].epsilon.push_back(f->start);
      end = f->end;
    }
    if (max < 0) {
      const int loop = add();
      auto f = build(child);
      if (!f) return std::nullopt;
      states_[end].epsilon.push_back(loop);
      states_[loop].epsilon.push_back(f->start);
      states_[f->end].epsilon.push_back(loop);
      return Fragment{s, loop};
    }
    for (int i = min; i < max; ++i) {
      const int skip = add();
      auto f = build(child);
      if (!f) return std::nullopt;
      states_[end].epsilon.push_back(f->start);
      states_[end].epsilon.push_back(skip);
      states_[f->end].epsilon.push_back(skip);
      end = skip;
    }
    return Fragment{s, end};
  }

  std::vector<NfaState> states_;
};

// The states reachable from a set without reading input (and, with `at_end`, through `$`). The
// marks are reused across calls, so a closure costs what it visits, not the automaton's size.
class Closure {
 public:
  explicit Closure(const std::vector<NfaState>& states) : states_(states), marks_(states.size()) {}

  std::vector<int> operator()(std::vector<int> set, bool at_end) {
    ++stamp_;
    stack_.clear();
    for (int s : set) {
      marks_[s] = stamp_;
      stack_.push_back(s);
    }
    while (!stack_.empty()) {
      const int s = stack_.back();
      stack_.pop_back();
      auto visit = [&](int t) {
        if (marks_[t] != stamp_) {
          marks_[t] = stamp_;
          set.push_back(t);
          stack_.push_back(t);
        }
      };
      for (int t : states_[s].epsilon) visit(t);
      if (at_end) {
        for (int t : states_[s].at_end) visit(t);
      }
    }
    std::sort(set.begin(), set.end());
    return set;
  }

 private:
  const std::vector<NfaState>& states_;
  std::vector<std::uint32_t> marks_;
  std::uint32_t stamp_ = 0;
  std::vector<int> stack_;
};

}  // namespace

std::optional<DigitPattern> DigitPattern::compile(std::string_view pattern,
                                                  std::size_t max_states) {
  auto ast = Parser(pattern).parse();
  if (!ast) return std::nullopt;
  Nfa nfa;
  auto fragment = nfa.build(*ast);
  if (!fragment) return std::nullopt;
  const auto& states = nfa.states();
  const int final_state = fragment->end;
  Closure closure(states);

  // Subset construction; the language is finite or small, so the automaton stays small.
  DigitPattern dfa;
  std::map<std::vector<int>, std::int32_t> ids;
  std::vector<std::vector<int>> pending;
  auto intern = [&](std::vector<int> set) -> std::int32_t {
    if (set.empty()) return -1;
    auto [it, inserted] = ids.emplace(std::move(set), static_cast<std::int32_t>(ids.size()));
    if (inserted) {
      pending.push_back(it->first);
      std::uint8_t accept = 0;
      if (std::binary_search(it->first.begin(), it->first.end(), final_state)) {
        accept = kAcceptInside | kAcceptAtEnd;
      } else {
        auto with_end = closure(it->first, true);
        if (std::binary_search(with_end.begin(), with_end.end(), final_state)) {
          accept = kAcceptAtEnd;
        }
      }
      dfa.accept_.push_back(accept);
      dfa.next_.emplace_back();
    }
    return it->second;
  };
  intern(closure({fragment->start}, false));
  for (std::size_t done = 0; done < pending.size(); ++done) {
    if (pending.size() > max_states) return std::nullopt;
    const std::vector<int> set = pending[done];
    for (int d = 0; d < 10; ++d) {
      std::vector<int> moved;
      for (int s : set) {
        if ((states[s].digits >> d) & 1U) moved.push_back(states[s].next);
      }
      std::sort(moved.begin(), moved.end());
      moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
      const std::int32_t target = moved.empty() ? -1 : intern(closure(std::move(moved), false));
      dfa.next_[done][d] = target;
    }
  }
  return dfa;
}

bool DigitPattern::full_match(std::string_view digits) const noexcept {
  std::int32_t state = 0;
  for (char c : digits) {
    const auto d = static_cast<unsigned>(c - '0');
    if (d > 9) return false;
    state = next_[state][d];
    if (state < 0) return false;
  }
  return (accept_[state] & kAcceptAtEnd) != 0;
}

bool DigitPattern::prefix_match(std::string_view digits, bool allow_empty) const noexcept {
  std::int32_t state = 0;
  if (allow_empty && (accept_[0] & (digits.empty() ? kAcceptAtEnd : kAcceptInside)) != 0) {
    return true;
  }
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const auto d = static_cast<unsigned>(digits[i] - '0');
    if (d > 9) return false;
    state = next_[state][d];
    if (state < 0) return false;
    const std::uint8_t wanted = i + 1 == digits.size() ? kAcceptAtEnd : kAcceptInside;
    if ((accept_[state] & wanted) != 0) return true;
  }
  return false;
}

}  // namespace otp::phone
