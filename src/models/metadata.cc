#include "models/metadata.h"

#include <limits>

namespace snug {
namespace {

// Dimensions above this are not a model snug can run; refusing them early keeps every product
// of dimensions far from overflow.
constexpr int64_t kMaxCount = 1 << 24;

}  // namespace

Result<int> Metadata::Count(std::string_view suffix) const {
  ASSIGN_OR_RETURN(int64_t value, file_.GetInt(Key(suffix)));
  if (value <= 0 || value > kMaxCount) {
    return OutOfRange("model: key '" + Key(suffix) + "' = " + std::to_string(value) +
                      " is out of range (1.." + std::to_string(kMaxCount) + ")");
  }
  return static_cast<int>(value);
}

Result<int> Metadata::CountOr(std::string_view suffix, int fallback) const {
  return Has(suffix) ? Count(suffix) : Result<int>(fallback);
}

Result<float> Metadata::FloatOr(std::string_view suffix, float fallback) const {
  if (!Has(suffix)) return fallback;
  ASSIGN_OR_RETURN(double value, file_.GetFloat(Key(suffix)));
  return static_cast<float>(value);
}

Result<std::string> Metadata::StringOr(std::string_view suffix, std::string fallback) const {
  if (!Has(suffix)) return fallback;
  ASSIGN_OR_RETURN(std::string_view value, file_.GetString(Key(suffix)));
  return std::string(value);
}

Result<std::vector<int>> Metadata::PerLayer(std::string_view suffix, int num_layers) const {
  const gguf::Value* value = file_.Find(Key(suffix));
  if (value == nullptr) return NotFound("model: key '" + Key(suffix) + "' is missing");
  if (value->type != gguf::ValueType::kArray) {
    ASSIGN_OR_RETURN(int count, Count(suffix));
    return std::vector<int>(num_layers, count);
  }
  const gguf::Array& array = value->array;
  if (array.count != static_cast<uint64_t>(num_layers) || !array.items.empty()) {
    return InvalidArgument("model: key '" + Key(suffix) + "' must hold " +
                           std::to_string(num_layers) + " integers, one per layer");
  }
  std::vector<int> values(num_layers);
  for (int i = 0; i < num_layers; ++i) {
    const int64_t item = array.IntAt(i);
    if (item < 0 || item > kMaxCount) {
      return OutOfRange("model: key '" + Key(suffix) + "'[" + std::to_string(i) +
                        "] = " + std::to_string(item) + " is out of range");
    }
    values[i] = static_cast<int>(item);
  }
  return values;
}

Result<std::vector<int>> Metadata::PerLayerOr(std::string_view suffix, int num_layers,
                                              int fallback) const {
  if (!Has(suffix)) return std::vector<int>(num_layers, fallback);
  return PerLayer(suffix, num_layers);
}

Result<std::vector<bool>> Metadata::BoolPerLayer(std::string_view suffix, int num_layers) const {
  ASSIGN_OR_RETURN(const gguf::Array* array, file_.GetArray(Key(suffix)));
  if (array->element_type != gguf::ValueType::kBool ||
      array->count != static_cast<uint64_t>(num_layers)) {
    return InvalidArgument("model: key '" + Key(suffix) + "' must hold " +
                           std::to_string(num_layers) + " booleans, one per layer");
  }
  std::vector<bool> values(num_layers);
  for (int i = 0; i < num_layers; ++i) values[i] = array->IntAt(i) != 0;
  return values;
}

Result<DecoderBasics> ReadDecoderBasics(const Metadata& meta, int default_context_tokens,
                                        float default_norm_eps) {
  DecoderBasics basics;
  ASSIGN_OR_RETURN(basics.model_dim, meta.Count("embedding_length"));
  ASSIGN_OR_RETURN(basics.num_layers, meta.Count("block_count"));
  ASSIGN_OR_RETURN(basics.context_tokens, meta.CountOr("context_length", default_context_tokens));
  ASSIGN_OR_RETURN(basics.norm_eps,
                   meta.FloatOr("attention.layer_norm_rms_epsilon", default_norm_eps));
  ASSIGN_OR_RETURN(basics.num_heads, meta.Count("attention.head_count"));
  ASSIGN_OR_RETURN(basics.kv_heads, meta.PerLayerOr("attention.head_count_kv", basics.num_layers,
                                                    basics.num_heads));
  ASSIGN_OR_RETURN(basics.head_dim,
                   meta.CountOr("attention.key_length", basics.model_dim / basics.num_heads));
  for (int i = 0; i < basics.num_layers; ++i) {
    if (basics.kv_heads[i] <= 0 || basics.num_heads % basics.kv_heads[i] != 0) {
      return InvalidArgument("model: layer " + std::to_string(i) + " has " +
                             std::to_string(basics.kv_heads[i]) + " KV heads for " +
                             std::to_string(basics.num_heads) + " query heads");
    }
  }
  return basics;
}

}  // namespace snug
