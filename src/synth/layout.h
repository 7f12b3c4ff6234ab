// What goes into a synthetic model's GGUF besides the tokenizer: the architecture's metadata
// keys and its tensor list (names, shapes, what kind of weight each is, how to draw its values),
// with the same keys and names llama.cpp's converter writes. One function pair per architecture
// (layout_gemma.cc, layout_gpt_oss.cc, layout_llama.cc).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "synth/presets.h"

namespace snug::synth {

// Decides the stored type of a tensor (types.h) and, with Init, its values.
enum class TensorClass {
  kEmbedding,   // token_embd
  kOutput,      // untied output (lm head)
  kProjection,  // attention and dense MLP matrices
  kExperts,     // stacked MoE expert matrices
  kRouter,      // MoE router (llama.cpp's quantizer keeps it unquantized)
  kVector,      // norms, biases, sinks, scales, rope_freqs: always F32
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;  // outermost first
  TensorClass tensor_class = TensorClass::kProjection;
  // Values: center + stddev · N(0,1)-ish, or `values` verbatim when given (rope_freqs).
  float center = 0.0f;
  float stddev = 0.0f;
  std::vector<float> values;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The tensors of `config` with `vocab_size` embedding rows, in the converter's order.
std::vector<TensorSpec> BuildTensors(const ModelConfig& config, int64_t vocab_size);

// The `{arch}.*` keys (not general.* and not tokenizer.*).
void WriteArchitectureMetadata(const ModelConfig& config, gguf::Writer& writer);

// Per-architecture halves of the two functions above.
std::vector<TensorSpec> GemmaTensors(const ModelConfig& config, int64_t vocab_size);
void WriteGemmaMetadata(const ModelConfig& config, gguf::Writer& writer);
std::vector<TensorSpec> GptOssTensors(const ModelConfig& config, int64_t vocab_size);
void WriteGptOssMetadata(const ModelConfig& config, gguf::Writer& writer);
std::vector<TensorSpec> LlamaTensors(const ModelConfig& config, int64_t vocab_size);
void WriteLlamaMetadata(const ModelConfig& config, gguf::Writer& writer);

// Helpers shared by the layouts.
TensorSpec Matrix(std::string name, TensorClass tensor_class, std::vector<int64_t> shape,
                  float stddev);
TensorSpec Vector(std::string name, std::vector<int64_t> shape, float center, float stddev);
std::string BlockName(int layer, std::string_view suffix);  // "blk.3.attn_q.weight"

// Scales that keep activations finite and outputs non-degenerate through random layers:
// projections N(0, 1/fan_in); embedding rows such that tied logits have a std of about
// kLogitStd (peaked enough that greedy choices are stable under quantization noise).
inline constexpr float kLogitStd = 2.5f;
inline constexpr float kNormNoise = 0.05f;  // norms are 1 ± this
inline float FanIn(int64_t cols) { return 1.0f / std::sqrt(static_cast<float>(cols)); }

}  // namespace snug::synth
