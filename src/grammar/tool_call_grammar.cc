// Forced tool calls as grammars (tool_call_grammar.h).
#include "grammar/tool_call_grammar.h"

namespace snug::grammar {
namespace {

using Rule = GrammarBuilder::Rule;
using tokenizer::ChatFormat;

// The arguments of one tool: its schema's values, or any object.
Result<Rule> Arguments(GrammarBuilder& builder, const ToolCallOption& tool) {
  if (tool.parameters == nullptr || tool.parameters->is_null()) return builder.JsonObject();
  // A trial builder first: a loose schema that does not compile must leave nothing behind.
  GrammarBuilder trial;
  Result<Rule> checked = trial.JsonSchema(*tool.parameters);
  if (!checked.ok()) {
    if (tool.strict) {
      return InvalidArgument("tool '" + tool.name + "': " + checked.status().message());
    }
    return builder.JsonObject();
  }
  return builder.JsonSchema(*tool.parameters);
}

Result<Rule> Control(GrammarBuilder& builder, const tokenizer::Tokenizer& tokenizer,
                     std::string_view text) {
  const tokenizer::TokenId id = tokenizer.Find(text);
  if (id == tokenizer::kNoToken) {
    return InvalidArgument("grammar: the model's vocabulary lacks " + std::string(text) +
                           ", which its tool calls need");
  }
  return builder.TokenRule(id);
}

}  // namespace

Result<Grammar> ToolCallGrammar(ChatFormat format, const tokenizer::Tokenizer& tokenizer,
                                std::span<const ToolCallOption> tools, bool parallel) {
  if (tools.empty()) return InvalidArgument("grammar: a forced tool call needs a tool");
  GrammarBuilder builder;
  if (format == ChatFormat::kGemma4) builder.set_syntax(GrammarBuilder::Syntax::kGemma);
  std::vector<Rule> calls;  // one per tool: what follows the format's fixed opening
  for (const ToolCallOption& tool : tools) {
    ASSIGN_OR_RETURN(const Rule arguments, Arguments(builder, tool));
    switch (format) {
      case ChatFormat::kHarmony: {
        ASSIGN_OR_RETURN(const Rule constrain, Control(builder, tokenizer, "<|constrain|>"));
        ASSIGN_OR_RETURN(const Rule message, Control(builder, tokenizer, "<|message|>"));
        calls.push_back(builder.Sequence({builder.Literal(tool.name + " "), constrain,
                                          builder.Literal("json"), message, arguments}));
        break;
      }
      case ChatFormat::kGemma4:
        calls.push_back(builder.Sequence({builder.Literal(tool.name), arguments}));
        break;
      case ChatFormat::kLlama3:
        calls.push_back(builder.Sequence({builder.Literal("{\"name\": \"" + tool.name +
                                                          "\", \"parameters\": "),
                                          arguments, builder.Literal("}")}));
        break;
      case ChatFormat::kChatMl:
        calls.push_back(builder.Sequence({builder.Literal("{\"name\": \"" + tool.name +
                                                          "\", \"arguments\": "),
                                          arguments, builder.Literal("}")}));
        break;
      case ChatFormat::kGemma3:
        return InvalidArgument("grammar: Gemma 3 has no tool-call format");
    }
  }
  const Rule any_call = builder.Choice(calls);
  Rule call;
  switch (format) {
    case ChatFormat::kHarmony: {
      ASSIGN_OR_RETURN(const Rule channel, Control(builder, tokenizer, "<|channel|>"));
      call = builder.Sequence({channel, builder.Literal("commentary to=functions."), any_call});
      parallel = false;  // a Harmony turn ends at its call
      break;
    }
    case ChatFormat::kGemma4:
      call = builder.Sequence({builder.Literal("<|tool_call>call:"), any_call,
                               builder.Literal("<tool_call|>")});
      break;
    case ChatFormat::kLlama3:
      call = any_call;
      parallel = false;  // one call per message
      break;
    default:
      call = builder.Sequence({builder.Literal("<tool_call>\n"), any_call,
                               builder.Literal("\n</tool_call>")});
      break;
  }
  Rule root = call;
  if (parallel) {
    // call (separator call)*: later calls follow on a new line in ChatML, at once in Gemma 4.
    const Rule more = builder.NewRule("more calls");
    builder.AddAlternative(more, {});
    const std::string separator = format == ChatFormat::kChatMl ? "\n" : "";
    std::vector<Element> again;
    if (!separator.empty()) again.push_back(GrammarBuilder::Ref(builder.Literal(separator)));
    again.push_back(GrammarBuilder::Ref(call));
    again.push_back(GrammarBuilder::Ref(more));
    builder.AddAlternative(more, again);
    root = builder.Sequence({call, more});
  }
  return std::move(builder).Build(root);
}

}  // namespace snug::grammar
