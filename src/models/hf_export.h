// Writes a model (a GGUF file, or anything OpenModelSource opens) as a Hugging Face / MLX model
// directory — config.json, model.safetensors, tokenizer.json, tokenizer_config.json — through
// the architecture's HF tensor-name table (models/registry.h), undoing GGUF's conversions (Gemma
// 3's folded +1, Llama's Q/K row permutation). `snug make-model --format hf|mlx` uses it;
// ConvertToGguf is `snug convert`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "tensor/dtype.h"

namespace snug {

struct HfExportOptions {
  bool mlx = false;  // quantize matrices as MLX does (affine, group_size, bits)
  int bits = 4;
  int group_size = 64;
  bool mxfp4_experts = false;       // MoE experts as MLX mxfp4 (mlx-community's MXFP4-Q8)
  DType float_type = DType::kBF16;  // everything not quantized: bf16, f16 or f32
};

// Llama's q/k rows: llama.cpp's converter permutes each of `heads` heads so that adjacent-pair
// RoPE computes what HF's rotate-half does. `to_gguf` applies that permutation, else undoes it.
std::vector<float> PermuteRopePairs(const std::vector<float>& rows_values, int64_t rows,
                                    int64_t cols, int heads, bool to_gguf);

// `config_json` is config.json's text (the quantization section is added for MLX).
Status WriteHfDirectory(const gguf::File& file, const std::string& config_json,
                        const HfExportOptions& options, const std::string& dir);

// Writes `file` as a GGUF file with its matrices stored as `type` (any type kernels::Quantize
// writes); 1-D tensors and biases stay f32 and rows that do not fill whole blocks of `type`
// become f16, as in llama.cpp's files. An imported Llama gets the Q/K row permutation back.
Status ConvertToGguf(const gguf::File& file, DType type, const std::string& path);

}  // namespace snug
