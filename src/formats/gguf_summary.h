// What `snug inspect` shows of a GGUF file: metadata grouped (architecture hyper-parameters,
// general.*, tokenizer, the rest) with arrays summarized, the tensor table and totals by type.
// Built from a parsed File; rendered as aligned text or as one JSON object.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf.h"

namespace snug::gguf {

struct SummaryEntry {
  std::string key;
  std::string type;             // "u32", "array[bool]"
  std::string text;             // "[bool × 48: 40 true]"
  nlohmann::ordered_json json;  // the value; a long array becomes {type, count, head}
};

struct SpecialToken {
  std::string name;  // "bos" from tokenizer.ggml.bos_token_id
  int64_t id = 0;
  bool in_vocab = false;
  std::string token;  // the vocabulary entry, when in_vocab
};

struct TokenizerSummary {
  std::string model;  // tokenizer.ggml.model: "gemma", "gpt2", "llama"
  std::string pre;    // tokenizer.ggml.pre
  uint64_t vocab_size = 0;
  uint64_t merges = 0;
  uint64_t scores = 0;
  std::vector<SpecialToken> special;
  bool has_chat_template = false;
  uint64_t chat_template_bytes = 0;
  std::vector<SummaryEntry> other;  // remaining tokenizer.* keys (add_bos_token, ...)
};

struct TensorRow {
  std::string name;
  std::string type;
  std::vector<int64_t> shape;  // outermost-first
  uint64_t bytes = 0;
  uint64_t offset = 0;  // in the data section
};

struct TypeTotal {
  std::string type;
  uint64_t count = 0;
  uint64_t bytes = 0;
  double share = 0;  // of all tensor bytes, 0..1
  bool runs = true;  // false: a type snug lists but has no kernels for (DTypeInfo::runs)
};

struct Summary {
  std::string path;
  uint64_t file_bytes = 0;
  uint32_t version = 0;
  uint64_t alignment = 0;
  uint64_t data_offset = 0;
  std::string architecture;
  std::vector<SummaryEntry> hyperparameters;  // {arch}.* keys in file order
  std::vector<SummaryEntry> general;          // general.*
  TokenizerSummary tokenizer;
  std::vector<SummaryEntry> other;  // every other key
  std::vector<TensorRow> tensors;
  std::vector<TypeTotal> totals;  // by type, in AllDTypes order
  uint64_t tensor_bytes = 0;
};

Summary Summarize(const File& file, const std::string& path);
std::string FormatText(const Summary& summary);
// The types of the file snug cannot run ("iq2_xxs, iq3_s"), "" when it runs them all.
std::string UnrunnableTypes(const Summary& summary);
nlohmann::ordered_json ToJson(const Summary& summary);

// One value as inspect shows it: numbers as the shortest text that reads back, strings quoted
// and cut at 80 bytes, arrays as "[u32 × 48: 8, 8, 4, …]".
std::string ValueText(const Value& value);
nlohmann::ordered_json ValueJson(const Value& value);

// "1.50 GiB", "512 B"
std::string HumanBytes(uint64_t bytes);

}  // namespace snug::gguf
