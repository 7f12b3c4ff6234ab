// Reads an architecture's hyper-parameters from GGUF metadata: keys are named
// "{arch}.{suffix}", some are scalar or per-layer arrays. Errors name the key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"

namespace snug {

class Metadata {
 public:
  Metadata(const gguf::File& file, std::string_view architecture)
      : file_(file), prefix_(std::string(architecture) + ".") {}

  std::string Key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  bool Has(std::string_view suffix) const { return file_.Find(Key(suffix)) != nullptr; }

  // A positive integer (counts, dimensions): zero or negative values are refused.
  Result<int> Count(std::string_view suffix) const;
  Result<int> CountOr(std::string_view suffix, int fallback) const;
  Result<float> FloatOr(std::string_view suffix, float fallback) const;
  Result<std::string> StringOr(std::string_view suffix, std::string fallback) const;
  // A key that is either one integer for every layer or an array of num_layers integers.
  Result<std::vector<int>> PerLayer(std::string_view suffix, int num_layers) const;
  Result<std::vector<int>> PerLayerOr(std::string_view suffix, int num_layers, int fallback) const;
  // An array of num_layers booleans.
  Result<std::vector<bool>> BoolPerLayer(std::string_view suffix, int num_layers) const;

 private:
  const gguf::File& file_;
  std::string prefix_;
};

// What every decoder's metadata holds, read and checked once: sizes, context, epsilon, and
// per-layer KV head counts that divide the query heads.
struct DecoderBasics {
  int model_dim = 0;
  int num_layers = 0;
  int context_tokens = 0;
  float norm_eps = 0.0f;
  int num_heads = 0;
  std::vector<int> kv_heads;  // [num_layers]
  int head_dim = 0;           // attention.key_length, else model_dim / num_heads
};
Result<DecoderBasics> ReadDecoderBasics(const Metadata& meta, int default_context_tokens,
                                        float default_norm_eps);

}  // namespace snug
