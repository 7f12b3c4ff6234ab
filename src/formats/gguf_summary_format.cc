// Renders a gguf::Summary (gguf_summary.h) as aligned text or as one JSON object; both show the
// same facts.
#include <algorithm>
#include <cstdio>

#include "formats/gguf_summary.h"

namespace snug::gguf {
namespace {

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string PadLeft(const std::string& text, size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

std::string Percent(double share) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", share * 100);
  return text;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void AppendEntries(std::string* out, const std::string& title,
                   const std::vector<SummaryEntry>& entries) {
  if (entries.empty()) return;
  *out += "\n" + title + "\n";
  size_t width = 0;
  for (const SummaryEntry& entry : entries) width = std::max(width, entry.key.size());
  width = std::min<size_t>(width, 48);
  for (const SummaryEntry& entry : entries) {
    *out += "  " + Pad(entry.key, width) + "  " + entry.text + "\n";
  }
}

// The vocabulary entry of a special token, escaped for one line.
std::string TokenText(const SpecialToken& special) {
  if (!special.in_vocab) return "(not in the vocabulary)";
  Value value;
  value.type = ValueType::kString;
  value.s = special.token;
  return ValueText(value);
}

nlohmann::ordered_json EntriesJson(const std::vector<SummaryEntry>& entries) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const SummaryEntry& entry : entries) object[entry.key] = entry.json;
  return object;
}

}  // namespace

std::string FormatText(const Summary& summary) {
  std::string out;
  out += "file          " + summary.path + "\n";
  out += "size          " + std::to_string(summary.file_bytes) + " bytes (" +
         HumanBytes(summary.file_bytes) + "), GGUF v" + std::to_string(summary.version) +
         ", alignment " + std::to_string(summary.alignment) + ", data at offset " +
         std::to_string(summary.data_offset) + "\n";
  out += "architecture  " + (summary.architecture.empty() ? "(none)" : summary.architecture) + "\n";
  AppendEntries(&out, "hyper-parameters (" + summary.architecture + ".*)", summary.hyperparameters);
  AppendEntries(&out, "general", summary.general);

  const TokenizerSummary& tokenizer = summary.tokenizer;
  out += "\ntokenizer\n";
  out += "  model          " + (tokenizer.model.empty() ? "(none)" : tokenizer.model) + "\n";
  if (!tokenizer.pre.empty()) out += "  pre            " + tokenizer.pre + "\n";
  out += "  vocabulary     " + std::to_string(tokenizer.vocab_size) + " tokens, " +
         std::to_string(tokenizer.merges) + " merges, " + std::to_string(tokenizer.scores) +
         " scores\n";
  for (const SpecialToken& special : tokenizer.special) {
    out += "  " + Pad(special.name, 13) + "  " + std::to_string(special.id) + " " +
           TokenText(special) + "\n";
  }
  out += "  chat template  " +
         (tokenizer.has_chat_template
              ? "present (" + std::to_string(tokenizer.chat_template_bytes) + " bytes)"
              : std::string("absent")) +
         "\n";
  size_t width = 0;
  for (const SummaryEntry& entry : tokenizer.other) width = std::max(width, entry.key.size());
  for (const SummaryEntry& entry : tokenizer.other) {
    out += "  " + Pad(entry.key, width) + "  " + entry.text + "\n";
  }
  AppendEntries(&out, "other metadata", summary.other);

  out += "\ntensors (" + std::to_string(summary.tensors.size()) + ", shapes outermost-first)\n";
  size_t name_width = 4, shape_width = 5, type_width = 6;  // "all" and "type" fit in 6
  for (const TensorRow& row : summary.tensors) {
    name_width = std::max(name_width, row.name.size());
    shape_width = std::max(shape_width, ShapeText(row.shape).size());
    type_width = std::max(type_width, row.type.size());
  }
  out += "  " + Pad("name", name_width) + "  " + Pad("type", type_width) + "  " +
         Pad("shape", shape_width) + "  " + PadLeft("bytes", 14) + "\n";
  for (const TensorRow& row : summary.tensors) {
    out += "  " + Pad(row.name, name_width) + "  " + Pad(row.type, type_width) + "  " +
           Pad(ShapeText(row.shape), shape_width) + "  " + PadLeft(std::to_string(row.bytes), 14) +
           "\n";
  }
  out += "\ntotals by type\n";
  for (const TypeTotal& total : summary.totals) {
    out += "  " + Pad(total.type, type_width) + "  " + PadLeft(std::to_string(total.count), 6) +
           " tensors  " + PadLeft(HumanBytes(total.bytes), 11) + "  " +
           PadLeft(Percent(total.share), 6) + (total.runs ? "" : "  (snug cannot run this type)") +
           "\n";
  }
  out += "  " + Pad("all", type_width) + "  " + PadLeft(std::to_string(summary.tensors.size()), 6) +
         " tensors  " + PadLeft(HumanBytes(summary.tensor_bytes), 11) + "  of a " +
         HumanBytes(summary.file_bytes) + " file\n";
  const std::string unrunnable = UnrunnableTypes(summary);
  if (!unrunnable.empty()) {
    out += "\ncannot run: snug has no kernels for " + unrunnable +
           ", so serve and run refuse this file; pick "
           "a Q4_K_M, Q4_0, Q3_K, IQ4_XS or Q8_0 file of the same model\n";
  }
  return out;
}

std::string UnrunnableTypes(const Summary& summary) {
  std::string types;
  for (const TypeTotal& total : summary.totals) {
    if (!total.runs) types += (types.empty() ? "" : ", ") + total.type;
  }
  return types;
}

nlohmann::ordered_json ToJson(const Summary& summary) {
  nlohmann::ordered_json json;
  json["file"] = summary.path;
  json["file_bytes"] = summary.file_bytes;
  json["version"] = summary.version;
  json["alignment"] = summary.alignment;
  json["data_offset"] = summary.data_offset;
  json["architecture"] = summary.architecture;
  json["hyperparameters"] = EntriesJson(summary.hyperparameters);
  json["general"] = EntriesJson(summary.general);

  const TokenizerSummary& tokenizer = summary.tokenizer;
  nlohmann::ordered_json tokens;
  tokens["model"] = tokenizer.model;
  tokens["pre"] = tokenizer.pre;
  tokens["vocab_size"] = tokenizer.vocab_size;
  tokens["merges"] = tokenizer.merges;
  tokens["scores"] = tokenizer.scores;
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  for (const SpecialToken& token : tokenizer.special) {
    special[token.name] = {{"id", token.id}};
    special[token.name]["token"] =
        token.in_vocab ? nlohmann::ordered_json(token.token) : nlohmann::ordered_json();
  }
  tokens["special"] = std::move(special);
  tokens["chat_template_bytes"] = tokenizer.has_chat_template
                                      ? nlohmann::ordered_json(tokenizer.chat_template_bytes)
                                      : nlohmann::ordered_json();
  tokens["other"] = EntriesJson(tokenizer.other);
  json["tokenizer"] = std::move(tokens);
  json["other_metadata"] = EntriesJson(summary.other);

  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const TensorRow& row : summary.tensors) {
    tensors.push_back({{"name", row.name},
                       {"type", row.type},
                       {"shape", row.shape},
                       {"bytes", row.bytes},
                       {"offset", row.offset}});
  }
  json["tensors"] = std::move(tensors);
  nlohmann::ordered_json totals = nlohmann::ordered_json::array();
  for (const TypeTotal& total : summary.totals) {
    totals.push_back({{"type", total.type},
                      {"count", total.count},
                      {"bytes", total.bytes},
                      {"share", total.share},
                      {"runs", total.runs}});
  }
  json["totals"] = std::move(totals);
  json["runs"] = UnrunnableTypes(summary).empty();
  json["tensor_count"] = summary.tensors.size();
  json["tensor_bytes"] = summary.tensor_bytes;
  return json;
}

}  // namespace snug::gguf
