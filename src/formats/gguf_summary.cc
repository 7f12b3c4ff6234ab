// Summarizes a parsed GGUF file for `snug inspect` (see gguf_summary.h). Values come from the
// file, so every string is escaped and cut before it reaches a terminal.
#include "formats/gguf_summary.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace snug::gguf {
namespace {

constexpr size_t kMaxStringShown = 80;
constexpr uint64_t kNumbersShown = 8;
constexpr uint64_t kStringsShown = 4;
constexpr uint64_t kMaxJsonNumbers = 256;  // longer arrays become {type, count, head}
constexpr uint64_t kMaxJsonStrings = 16;

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Control bytes escaped, cut at `limit` bytes (on a UTF-8 boundary).
std::string Escape(std::string_view text, size_t limit) {
  std::string out;
  size_t i = 0;
  for (; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < text.size()) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
    out += "…";
  }
  return out;
}

std::string QuotedString(std::string_view text) {
  std::string out = "\"";
  out += Escape(text, kMaxStringShown);
  out += '"';
  if (text.size() > kMaxStringShown) out += " (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string FloatText(double value, bool is_f32) {
  char buffer[64];
  const auto result =
      is_f32 ? std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(value))
             : std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// A float as JSON: the shortest decimal of its own precision (1e-06f stays 1e-06).
nlohmann::ordered_json FloatJson(double value, bool is_f32) {
  if (!std::isfinite(value)) return FloatText(value, is_f32);  // JSON has no inf/nan
  return is_f32 ? std::stod(FloatText(value, true)) : value;
}

bool IsSigned(ValueType type) {
  return type == ValueType::kI8 || type == ValueType::kI16 || type == ValueType::kI32 ||
         type == ValueType::kI64;
}
bool IsFloat(ValueType type) { return type == ValueType::kF32 || type == ValueType::kF64; }

std::string ElementText(const Array& array, uint64_t i) {
  if (array.element_type == ValueType::kBool) return array.BoolAt(i) ? "true" : "false";
  if (IsFloat(array.element_type)) {
    return FloatText(array.FloatAt(i), array.element_type == ValueType::kF32);
  }
  if (IsSigned(array.element_type)) return std::to_string(array.IntAt(i));
  return std::to_string(array.U64At(i));
}

nlohmann::ordered_json ElementJson(const Array& array, uint64_t i) {
  if (array.element_type == ValueType::kBool) return array.BoolAt(i);
  if (IsFloat(array.element_type)) {
    return FloatJson(array.FloatAt(i), array.element_type == ValueType::kF32);
  }
  if (IsSigned(array.element_type)) return array.IntAt(i);
  return array.U64At(i);
}

std::string ArrayText(const Array& array) {
  std::string out = "[";  // appended piecewise: GCC 12 -Wrestrict misfires on "[" + string&&
  out += ValueTypeName(array.element_type);
  out += " × ";
  out += std::to_string(array.count);
  if (array.count == 0) return out + "]";
  if (array.element_type == ValueType::kBool) {
    uint64_t true_count = 0;
    for (uint64_t i = 0; i < array.count; ++i) true_count += array.BoolAt(i) ? 1 : 0;
    return out + ": " + std::to_string(true_count) + " true]";
  }
  if (array.is_numeric()) {
    const size_t size = ValueTypeSize(array.element_type);
    bool all_equal = true;
    for (uint64_t i = 1; i < array.count && all_equal; ++i) {
      all_equal =
          std::equal(array.raw.begin(), array.raw.begin() + size, array.raw.begin() + i * size);
    }
    if (all_equal && array.count > 1) return out + ": all " + ElementText(array, 0) + "]";
    out += ":";
    for (uint64_t i = 0; i < array.count && i < kNumbersShown; ++i) {
      out += i ? ", " : " ";
      out += ElementText(array, i);
    }
    return out + (array.count > kNumbersShown ? ", …]" : "]");
  }
  if (array.element_type == ValueType::kString) {
    out += ":";
    for (uint64_t i = 0; i < array.count && i < kStringsShown; ++i) {
      out += i ? ", " : " ";
      out += QuotedString(array.StringAt(i));
    }
    return out + (array.count > kStringsShown ? ", …]" : "]");
  }
  return out + "]";  // nested arrays: only their count
}

nlohmann::ordered_json ArrayJson(const Array& array) {
  const bool is_string = array.element_type == ValueType::kString;
  const uint64_t limit = array.is_numeric() ? kMaxJsonNumbers : kMaxJsonStrings;
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  const uint64_t shown = array.count <= limit ? array.count : kNumbersShown;
  for (uint64_t i = 0; i < shown; ++i) {
    if (array.is_numeric()) {
      values.push_back(ElementJson(array, i));
    } else if (is_string) {
      values.push_back(std::string(array.StringAt(i)));
    } else {
      values.push_back(ArrayJson(array.items[i].array));
    }
  }
  if (array.count <= limit) return values;
  nlohmann::ordered_json summary = {{"type", std::string(ValueTypeName(array.element_type))},
                                    {"count", array.count}};
  if (array.element_type == ValueType::kBool) {
    uint64_t true_count = 0;
    for (uint64_t i = 0; i < array.count; ++i) true_count += array.BoolAt(i) ? 1 : 0;
    summary["true"] = true_count;
  }
  summary["head"] = std::move(values);
  return summary;
}

SummaryEntry Entry(const KeyValue& kv) {
  std::string type(ValueTypeName(kv.value.type));
  if (kv.value.type == ValueType::kArray) {
    type += '[';
    type += ValueTypeName(kv.value.array.element_type);
    type += ']';
  }
  return {std::string(kv.key), type, ValueText(kv.value), ValueJson(kv.value)};
}

}  // namespace

std::string ValueText(const Value& value) {
  switch (value.type) {
    case ValueType::kBool:
      return value.u ? "true" : "false";
    case ValueType::kString:
      return QuotedString(value.s);
    case ValueType::kArray:
      return ArrayText(value.array);
    case ValueType::kF32:
    case ValueType::kF64:
      return FloatText(value.f, value.type == ValueType::kF32);
    default:
      return IsSigned(value.type) ? std::to_string(value.i) : std::to_string(value.u);
  }
}

nlohmann::ordered_json ValueJson(const Value& value) {
  switch (value.type) {
    case ValueType::kBool:
      return value.u != 0;
    case ValueType::kString:
      return std::string(value.s);
    case ValueType::kArray:
      return ArrayJson(value.array);
    case ValueType::kF32:
    case ValueType::kF64:
      return FloatJson(value.f, value.type == ValueType::kF32);
    default:
      if (IsSigned(value.type)) return value.i;
      return value.u;
  }
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f %s", value, kUnits[unit]);
  return text;
}

Summary Summarize(const File& file, const std::string& path) {
  Summary summary;
  summary.path = path;
  summary.file_bytes = file.file_bytes();
  summary.version = file.version();
  summary.alignment = file.alignment();
  summary.data_offset = file.data_offset();
  summary.architecture = std::string(file.architecture());
  const std::string arch_prefix = summary.architecture + ".";

  TokenizerSummary& tokenizer = summary.tokenizer;
  const Array* tokens = nullptr;
  if (const Value* value = file.Find("tokenizer.ggml.tokens");
      value != nullptr && value->type == ValueType::kArray &&
      value->array.element_type == ValueType::kString) {
    tokens = &value->array;
  }
  for (const KeyValue& kv : file.metadata()) {
    const std::string_view key = kv.key;
    const Value& value = kv.value;
    if (!summary.architecture.empty() && StartsWith(key, arch_prefix)) {
      summary.hyperparameters.push_back(Entry(kv));
    } else if (StartsWith(key, "general.")) {
      summary.general.push_back(Entry(kv));
    } else if (!StartsWith(key, "tokenizer.")) {
      summary.other.push_back(Entry(kv));
    } else if (key == "tokenizer.ggml.model" && value.type == ValueType::kString) {
      tokenizer.model = std::string(value.s);
    } else if (key == "tokenizer.ggml.pre" && value.type == ValueType::kString) {
      tokenizer.pre = std::string(value.s);
    } else if (key == "tokenizer.ggml.tokens" && tokens != nullptr) {
      tokenizer.vocab_size = tokens->count;
    } else if (key == "tokenizer.ggml.merges" && value.type == ValueType::kArray) {
      tokenizer.merges = value.array.count;
    } else if (key == "tokenizer.ggml.scores" && value.type == ValueType::kArray) {
      tokenizer.scores = value.array.count;
    } else if (key == "tokenizer.chat_template" && value.type == ValueType::kString) {
      tokenizer.has_chat_template = true;
      tokenizer.chat_template_bytes = value.s.size();
    } else if (StartsWith(key, "tokenizer.ggml.") && key.ends_with("_token_id") &&
               value.is_integer()) {
      SpecialToken special;
      special.name = std::string(key.substr(15, key.size() - 15 - 9));
      const bool is_signed = IsSigned(value.type);
      special.id = is_signed ? value.i
                             : static_cast<int64_t>(std::min<uint64_t>(
                                   value.u, std::numeric_limits<int64_t>::max()));
      if (tokens != nullptr && special.id >= 0 &&
          static_cast<uint64_t>(special.id) < tokens->count) {
        special.in_vocab = true;
        special.token = std::string(tokens->StringAt(static_cast<uint64_t>(special.id)));
      }
      tokenizer.special.push_back(std::move(special));
    } else if (key != "tokenizer.ggml.token_type") {
      tokenizer.other.push_back(Entry(kv));
    }
  }

  int num_types = 0;
  const DTypeInfo* types = AllDTypes(&num_types);
  std::vector<TypeTotal> totals(num_types);
  for (const TensorInfo& tensor : file.tensors()) {
    TensorRow row{std::string(tensor.name), std::string(Name(tensor.view.dtype)),
                  std::vector<int64_t>(tensor.view.shape.begin(),
                                       tensor.view.shape.begin() + tensor.view.num_dims),
                  tensor.bytes, tensor.offset};
    summary.tensors.push_back(std::move(row));
    summary.tensor_bytes += tensor.bytes;
    for (int t = 0; t < num_types; ++t) {
      if (types[t].dtype == tensor.view.dtype) {
        totals[t].count += 1;
        totals[t].bytes += tensor.bytes;
      }
    }
  }
  for (int t = 0; t < num_types; ++t) {
    if (totals[t].count == 0) continue;
    totals[t].type = std::string(types[t].name);
    totals[t].runs = types[t].runs;
    totals[t].share = summary.tensor_bytes == 0 ? 0.0
                                                : static_cast<double>(totals[t].bytes) /
                                                      static_cast<double>(summary.tensor_bytes);
    summary.totals.push_back(totals[t]);
  }
  return summary;
}

}  // namespace snug::gguf
