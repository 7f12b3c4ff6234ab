// Writes a synthetic model: a preset's shapes, a vocabulary, one stored type per tensor, and
// seeded random weights, streamed into a GGUF file one tensor at a time (multithreaded), so a
// 7 GB model never sits in memory. llama.cpp loads these files (tests/reference/).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "synth/layout.h"
#include "synth/presets.h"
#include "synth/vocab.h"
#include "tensor/dtype.h"

namespace snug {
class ThreadPool;
}

namespace snug::synth {

// The weight type per tensor class. As real files do: norms, biases, sinks, scales, rope_freqs
// and MoE routers stay F32; the embedding (and an untied output) take `embedding` or else
// `main`; experts take `experts` or else MXFP4. `main` = MXFP4 means llama.cpp's MXFP4_MOE
// scheme: experts MXFP4, other matrices Q8_0. `k_mix` is llama.cpp's "_M" mix for a K-quant
// `main` (Q4_K_M, Q5_K_M): the embedding, the output, and attn_v / ffn_down of the first and last
// eighth of the layers and every third layer between take Q6_K.
struct TypeOptions {
  DType main = DType::kF16;
  std::optional<DType> embedding;
  std::optional<DType> experts;
  bool k_mix = false;
};

struct TensorPlan {
  TensorSpec spec;
  DType type = DType::kF32;
  int64_t bytes() const;
};

struct ModelPlan {
  ModelConfig config;
  Vocabulary vocab;
  TypeOptions types;
  std::vector<TensorPlan> tensors;
  // Type substitutions made because a tensor's rows do not fit the requested type's blocks,
  // e.g. "q4_k -> q5_0 for 78 tensors (rows of 1152 are not a multiple of 256)".
  std::vector<std::string> notes;

  int64_t parameters() const;
  int64_t tensor_bytes() const;
};

// The stored type of one tensor under `types`, falling back as llama.cpp's quantizer does when
// its rows are not a multiple of the block size (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
// then Q8_0, then F16 where even 32 does not divide them). `fallback` is set when it fell back.
// `num_layers` (the model's) places a layer's tensor for `k_mix`.
DType ChooseType(const TensorSpec& spec, const TypeOptions& types, bool* fallback = nullptr,
                 int num_layers = 0);

// Checks that the kernels can write every requested type.
Status ValidateTypes(const TypeOptions& types);

// Overrides the preset's layer count (0 keeps it); layer rules (sliding pattern) follow.
Result<ModelConfig> WithLayers(ModelConfig config, int num_layers);

ModelPlan PlanModel(const ModelConfig& config, Vocabulary vocab, const TypeOptions& types);

struct Progress {
  int64_t tensors_done = 0;
  int64_t tensors_total = 0;
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
  std::string_view tensor;  // the tensor just written
};
using ProgressFn = std::function<void(const Progress&)>;

// Adds every key and tensor of `plan` to `writer`; the tensors' fill callbacks draw the weights
// from `seed` on `pool`, which must outlive writer.Write().
void AddModel(const ModelPlan& plan, uint64_t seed, ThreadPool& pool, gguf::Writer& writer,
              ProgressFn progress = nullptr);

// PlanModel's output written to `path` with `num_threads` threads (0: all cores).
Status WriteModel(const ModelPlan& plan, uint64_t seed, const std::string& path,
                  int num_threads = 0, ProgressFn progress = nullptr);

// llama.cpp's general.file_type for a main type (MOSTLY_Q4_0 = 2, MOSTLY_Q8_0 = 7, ...).
uint32_t FileType(DType main);

// Embedding rows of the preset's default vocabulary (for `--list` without reading files).
int64_t DefaultVocabSize(const ModelConfig& config);

}  // namespace snug::synth
