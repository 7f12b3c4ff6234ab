// libFuzzer target for the GGUF reader: parses the input and touches every metadata value and
// the first and last byte of every tensor, so ASan sees any view that escapes the input.
// With SNUG_FUZZ_WRITE_SEEDS=DIR it writes a seed corpus of valid files (from gguf::Writer)
// into DIR and exits: scripts/fuzz.sh uses that to start from real structure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/gguf_summary.h"

namespace {

using snug::gguf::Array;
using snug::gguf::Value;
using snug::gguf::ValueType;

// Volatile so the reads are not optimized away.
volatile uint64_t g_sink = 0;

void Touch(const Value& value) {
  g_sink = g_sink + value.u + static_cast<uint64_t>(value.i) + value.s.size();
  if (!value.s.empty()) g_sink = g_sink + static_cast<uint8_t>(value.s.back());
  if (value.type != ValueType::kArray) return;
  const Array& array = value.array;
  if (array.is_numeric()) {
    const ValueType type = array.element_type;
    const bool is_signed = type == ValueType::kI8 || type == ValueType::kI16 ||
                           type == ValueType::kI32 || type == ValueType::kI64;
    for (uint64_t i = 0; i < array.count; ++i) {
      if (type == ValueType::kBool) {
        g_sink = g_sink + array.BoolAt(i);
      } else if (type == ValueType::kF32 || type == ValueType::kF64) {
        g_sink = g_sink + static_cast<uint64_t>(array.FloatAt(i) != 0);
      } else {
        g_sink = g_sink + (is_signed ? static_cast<uint64_t>(array.IntAt(i)) : array.U64At(i));
      }
    }
  } else if (array.element_type == ValueType::kString) {
    for (uint64_t i = 0; i < array.count; ++i) {
      const std::string_view text = array.StringAt(i);
      if (!text.empty()) g_sink = g_sink + static_cast<uint8_t>(text.front() ^ text.back());
    }
  } else {
    for (const Value& item : array.items) Touch(item);
  }
}

void WriteSeed(const std::string& dir, const std::string& name, const snug::gguf::Writer& w) {
  const snug::Status status = w.Write(dir + "/" + name);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.message().c_str());
    std::exit(1);
  }
}

void Fill(std::span<uint8_t> bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 5);
}

void WriteSeeds(const std::string& dir) {
  using snug::DType;
  snug::gguf::Writer model;
  model.SetString("general.architecture", "gemma3");
  model.SetString("general.name", "seed");
  model.SetU32("gemma3.block_count", 2);
  model.SetF32("gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
  model.SetBoolArray("gemma3.attention.sliding_window_pattern", {true, false});
  model.SetI32Array("gemma3.attention.head_count_kv", {1, 2});
  model.SetStringArray("tokenizer.ggml.tokens", {"<pad>", "<eos>", "<bos>", "a", "b", "ab"});
  model.SetF32Array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3});
  model.SetStringArray("tokenizer.ggml.merges", {"a b"});
  model.SetU32("tokenizer.ggml.bos_token_id", 2);
  model.SetString("tokenizer.chat_template", "{{ messages }}");
  model.AddTensor("token_embd.weight", DType::kQ8_0, {6, 32}, Fill);
  model.AddTensor("blk.0.ffn_up.weight", DType::kQ4_K, {2, 256}, Fill);
  model.AddTensor("blk.0.attn_norm.weight", DType::kF32, {32}, Fill);
  model.AddTensor("blk.0.ffn_gate_exps.weight", DType::kMXFP4, {2, 1, 32}, Fill);
  WriteSeed(dir, "model.gguf", model);

  snug::gguf::Writer values;
  values.SetAlignment(64);
  Value nested;
  nested.type = ValueType::kArray;
  nested.array.element_type = ValueType::kArray;
  nested.array.count = 2;
  nested.array.items.resize(2);
  for (Value& item : nested.array.items) {
    item.type = ValueType::kArray;
    item.array.element_type = ValueType::kString;
    item.array.count = 1;
    item.array.strings = {"x"};
  }
  values.SetValue("nested", nested);
  const uint8_t raw[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (uint32_t type : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 10u, 11u, 12u}) {
    Value scalar;
    scalar.type = static_cast<ValueType>(type);
    scalar.u = 7;
    scalar.i = -7;
    scalar.f = 0.5;
    values.SetValue("scalar." + std::to_string(type), scalar);
    Value array;
    array.type = ValueType::kArray;
    array.array.element_type = scalar.type;
    array.array.count = 8 / snug::gguf::ValueTypeSize(scalar.type);
    array.array.raw = std::span(raw, array.array.count * snug::gguf::ValueTypeSize(scalar.type));
    values.SetValue("array." + std::to_string(type), array);
  }
  values.SetString("empty", "");
  values.AddTensor("f16", DType::kF16, {3, 2, 2, 4}, Fill);
  values.AddTensor("bf16", DType::kBF16, {5}, Fill);
  values.AddTensor("q6_k", DType::kQ6_K, {1, 256}, Fill);
  values.AddTensor("q4_0", DType::kQ4_0, {3, 32}, Fill);
  WriteSeed(dir, "values.gguf", values);

  snug::gguf::Writer empty;
  WriteSeed(dir, "empty.gguf", empty);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const char* dir = std::getenv("SNUG_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const snug::Result<snug::gguf::File> file = snug::gguf::File::Parse({data, size});
  if (!file.ok()) {
    if (file.status().message().rfind("gguf: ", 0) != 0) std::abort();  // untagged message
    return 0;
  }
  for (const snug::gguf::KeyValue& kv : file->metadata()) {
    g_sink = g_sink + kv.key.size();
    Touch(kv.value);
    if (file->Find(kv.key) != &kv.value) std::abort();
  }
  for (const snug::gguf::TensorInfo& tensor : file->tensors()) {
    const auto* bytes = static_cast<const uint8_t*>(tensor.view.data);
    if (tensor.bytes != static_cast<uint64_t>(tensor.view.bytes())) std::abort();
    g_sink = g_sink + bytes[0] + bytes[tensor.bytes - 1];
    if (file->FindTensor(tensor.name) != &tensor) std::abort();
  }
  // The inspect summary reads every value too (and must not throw on hostile strings).
  const snug::gguf::Summary summary = snug::gguf::Summarize(*file, "fuzz");
  g_sink = g_sink + snug::gguf::FormatText(summary).size() +
           snug::gguf::ToJson(summary)
               .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
               .size();
  return 0;
}
