// GrammarBuilder: rules by hand, the JSON lexical rules, and Build()'s checks (productive
// rules, no rule reaching itself before a byte). JSON schemas compile in json_schema.cc.
#include "grammar/grammar.h"

#include <cctype>
#include <functional>

#include "base/check.h"
#include "tokenizer/chat_tools.h"

namespace snug::grammar {
namespace {

// Whitespace allowed in one gap between JSON tokens: enough for pretty-printed nesting, and
// bounded so a model (random weights included) cannot pad forever.
constexpr int kMaxWhitespaceBytes = 20;

void Add(ByteSet& set, int byte) { set[byte >> 6] |= uint64_t{1} << (byte & 63); }
bool Empty(const ByteSet& set) { return (set[0] | set[1] | set[2] | set[3]) == 0; }

}  // namespace

GrammarBuilder::Rule GrammarBuilder::NewRule(std::string name) {
  rules_.emplace_back();
  names_.push_back(std::move(name));
  return static_cast<Rule>(rules_.size() - 1);
}

void GrammarBuilder::AddAlternative(Rule rule, std::vector<Element> sequence) {
  CHECK(rule >= 0 && rule < static_cast<Rule>(rules_.size()));
  rules_[rule].push_back(std::move(sequence));
}

Element GrammarBuilder::Bytes(const ByteSet& set) {
  auto [it, inserted] = byte_set_ids_.emplace(set, static_cast<int32_t>(byte_sets_.size()));
  if (inserted) byte_sets_.push_back(set);
  return {ElementKind::kBytes, it->second};
}

Element GrammarBuilder::Byte(uint8_t byte) { return ByteRange(byte, byte); }

Element GrammarBuilder::ByteRange(uint8_t first, uint8_t last) {
  ByteSet set{};
  for (int b = first; b <= last; ++b) Add(set, b);
  return Bytes(set);
}

GrammarBuilder::Rule GrammarBuilder::Literal(std::string_view bytes) {
  std::vector<Element> sequence;
  for (char c : bytes) sequence.push_back(Byte(static_cast<uint8_t>(c)));
  const Rule rule = NewRule("literal");
  AddAlternative(rule, std::move(sequence));
  return rule;
}

GrammarBuilder::Rule GrammarBuilder::TokenRule(int32_t id) {
  const Rule rule = NewRule("token " + std::to_string(id));
  AddAlternative(rule, {Token(id)});
  return rule;
}

GrammarBuilder::Rule GrammarBuilder::Sequence(const std::vector<Rule>& parts) {
  std::vector<Element> sequence;
  for (Rule part : parts) sequence.push_back(Ref(part));
  const Rule rule = NewRule("sequence");
  AddAlternative(rule, std::move(sequence));
  return rule;
}

GrammarBuilder::Rule GrammarBuilder::Choice(const std::vector<Rule>& alternatives) {
  const Rule rule = NewRule("choice");
  for (Rule alternative : alternatives) AddAlternative(rule, {Ref(alternative)});
  return rule;
}

GrammarBuilder::Rule GrammarBuilder::Whitespace() {
  if (whitespace_ >= 0) return whitespace_;
  if (syntax_ == Syntax::kGemma) {  // Gemma writes its values without any
    whitespace_ = NewRule("whitespace");
    AddAlternative(whitespace_, {});
    return whitespace_;
  }
  // ws_k: at most k more whitespace bytes. ws_0 is empty.
  ByteSet space{};
  for (int b : {' ', '\t', '\n', '\r'}) Add(space, b);
  const Element space_byte = Bytes(space);
  Rule next = NewRule("whitespace");
  AddAlternative(next, {});
  for (int k = 1; k <= kMaxWhitespaceBytes; ++k) {
    const Rule rule = NewRule("whitespace");
    AddAlternative(rule, {});
    AddAlternative(rule, {space_byte, Ref(next)});
    next = rule;
  }
  whitespace_ = next;
  return whitespace_;
}

GrammarBuilder::Rule GrammarBuilder::JsonString() {
  if (json_string_ >= 0) return json_string_;
  json_string_ = NewRule("string");
  if (syntax_ == Syntax::kJson) {
    AddAlternative(json_string_, {{ElementKind::kString, 0}});
    return json_string_;
  }
  // <|"|> text <|"|>: any bytes but '<', so the text cannot hold the closing delimiter.
  ByteSet text{};
  for (int b = 0; b < 256; ++b) {
    if (b != '<') Add(text, b);
  }
  const Rule chars = NewRule("string text");
  AddAlternative(chars, {});
  AddAlternative(chars, {Bytes(text), Ref(chars)});
  const Rule quote = Literal(tokenizer::kGemmaQuote);
  AddAlternative(json_string_, {Ref(quote), Ref(chars), Ref(quote)});
  return json_string_;
}

GrammarBuilder::Rule GrammarBuilder::Key(std::string_view name) {
  if (syntax_ == Syntax::kGemma) return Literal(name);
  return Literal(nlohmann::json(std::string(name)).dump());
}

GrammarBuilder::Rule GrammarBuilder::ValueLiteral(const nlohmann::ordered_json& value) {
  if (syntax_ == Syntax::kGemma) return Literal(tokenizer::GemmaValueString(value));
  return Literal(value.dump());
}

GrammarBuilder::Rule GrammarBuilder::JsonObject() {
  if (json_object_ >= 0) return json_object_;
  json_object_ = NewRule("object");
  const Rule value = JsonValue();
  const Element ws = Ref(Whitespace());
  // member: string ws ":" ws value; members: member (ws "," ws member)*
  const Rule member = NewRule("member");
  if (syntax_ == Syntax::kGemma) {  // bare keys: a name
    ByteSet name{};
    for (int b = 0; b < 256; ++b) {
      if (std::isalnum(b) || b == '_' || b == '-') Add(name, b);
    }
    const Rule rest = NewRule("key");
    AddAlternative(rest, {});
    AddAlternative(rest, {Bytes(name), Ref(rest)});
    AddAlternative(member, {Bytes(name), Ref(rest), ws, Byte(':'), ws, Ref(value)});
  } else {
    AddAlternative(member, {Ref(JsonString()), ws, Byte(':'), ws, Ref(value)});
  }
  const Rule more = NewRule("members");
  AddAlternative(more, {});
  AddAlternative(more, {ws, Byte(','), ws, Ref(member), Ref(more)});
  AddAlternative(json_object_, {Byte('{'), ws, Byte('}')});
  AddAlternative(json_object_, {Byte('{'), ws, Ref(member), Ref(more), ws, Byte('}')});
  return json_object_;
}

GrammarBuilder::Rule GrammarBuilder::JsonValue() {
  if (json_value_ >= 0) return json_value_;
  json_value_ = NewRule("value");
  const Element ws = Ref(Whitespace());
  const Rule array = NewRule("array");
  const Rule more = NewRule("elements");
  AddAlternative(more, {});
  AddAlternative(more, {ws, Byte(','), ws, Ref(json_value_), Ref(more)});
  AddAlternative(array, {Byte('['), ws, Byte(']')});
  AddAlternative(array, {Byte('['), ws, Ref(json_value_), Ref(more), ws, Byte(']')});
  AddAlternative(json_value_, {Ref(JsonObject())});
  AddAlternative(json_value_, {Ref(array)});
  AddAlternative(json_value_, {Ref(JsonString())});
  AddAlternative(json_value_, {{ElementKind::kNumber, 0}});
  AddAlternative(json_value_, {Ref(Literal("true"))});
  AddAlternative(json_value_, {Ref(Literal("false"))});
  AddAlternative(json_value_, {Ref(Literal("null"))});
  return json_value_;
}

Result<Grammar> GrammarBuilder::Build(Rule root) && {
  CHECK(root >= 0 && root < static_cast<Rule>(rules_.size()));
  const size_t num_rules = rules_.size();
  auto element_productive = [&](const Element& e, const std::vector<bool>& productive) {
    switch (e.kind) {
      case ElementKind::kRule:
        return static_cast<bool>(productive[e.value]);
      case ElementKind::kBytes:
        return !Empty(byte_sets_[e.value]);
      default:
        return true;
    }
  };
  // Productive rules (derive at least one finite byte string), by fixpoint.
  std::vector<bool> productive(num_rules, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < num_rules; ++r) {
      if (productive[r]) continue;
      for (const auto& alternative : rules_[r]) {
        bool all = true;
        for (const Element& e : alternative) all = all && element_productive(e, productive);
        if (all) {
          productive[r] = changed = true;
          break;
        }
      }
    }
  }
  if (!productive[root]) {
    return InvalidArgument("grammar: '" + names_[root] + "' admits no value");
  }
  for (auto& alternatives : rules_) {
    std::erase_if(alternatives, [&](const std::vector<Element>& alternative) {
      for (const Element& e : alternative) {
        if (!element_productive(e, productive)) return true;
      }
      return false;
    });
  }
  // Nullable rules, then the rules each rule can reach before consuming a byte.
  std::vector<bool> nullable(num_rules, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < num_rules; ++r) {
      if (nullable[r]) continue;
      for (const auto& alternative : rules_[r]) {
        bool all = true;
        for (const Element& e : alternative) {
          all = all && e.kind == ElementKind::kRule && nullable[e.value];
        }
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // 0: unvisited, 1: on the path, 2: done.
  std::vector<uint8_t> visit(num_rules, 0);
  std::string cycle;
  std::function<bool(size_t)> left_cycle = [&](size_t r) {
    if (visit[r] == 1) {
      cycle = names_[r];
      return true;
    }
    if (visit[r] == 2) return false;
    visit[r] = 1;
    for (const auto& alternative : rules_[r]) {
      for (const Element& e : alternative) {
        if (e.kind != ElementKind::kRule) break;
        if (left_cycle(e.value)) return true;
        if (!nullable[e.value]) break;
      }
    }
    visit[r] = 2;
    return false;
  };
  for (size_t r = 0; r < num_rules; ++r) {
    if (left_cycle(r)) {
      return InvalidArgument("grammar: '" + cycle + "' refers to itself before consuming anything");
    }
  }

  Grammar grammar;
  grammar.root = root;
  grammar.byte_sets = std::move(byte_sets_);
  grammar.rule_names = std::move(names_);
  grammar.rules.resize(num_rules);
  for (size_t r = 0; r < num_rules; ++r) {
    for (const auto& alternative : rules_[r]) {
      grammar.rules[r].push_back(static_cast<int32_t>(grammar.elements.size()));
      grammar.elements.insert(grammar.elements.end(), alternative.begin(), alternative.end());
      grammar.elements.push_back({ElementKind::kEnd, 0});
    }
  }
  return grammar;
}

Grammar AnyJsonObject() {
  GrammarBuilder builder;
  const GrammarBuilder::Rule root = builder.NewRule("#");
  builder.AddAlternative(
      root, {GrammarBuilder::Ref(builder.Whitespace()), GrammarBuilder::Ref(builder.JsonObject())});
  Result<Grammar> grammar = std::move(builder).Build(root);
  CHECK(grammar.ok()) << grammar.status().ToString();
  return std::move(grammar).value();
}

}  // namespace snug::grammar
