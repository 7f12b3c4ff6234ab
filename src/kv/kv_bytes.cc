// The KV cache's byte math for every KV type (f16, q8_0, q4_0): what the memory plan sizes
// before anything is allocated; kv_cache.cc stores them.
#include <algorithm>
#include <cctype>
#include <string>

#include "kv/kv_cache.h"

namespace snug {
namespace {

constexpr int64_t kKvBlockElements = 32;  // q8_0 and q4_0 blocks
constexpr int64_t kQ8_0BlockBytes = 34;   // f16 scale + 32 int8
constexpr int64_t kQ4_0BlockBytes = 18;   // f16 scale + 16 bytes of nibbles

}  // namespace

std::string_view KvTypeName(KvType type) {
  switch (type) {
    case KvType::kF16:
      return "f16";
    case KvType::kQ8_0:
      return "q8_0";
    case KvType::kQ4_0:
      return "q4_0";
  }
  return "?";
}

std::optional<KvType> KvTypeFromName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (KvType type : {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0}) {
    if (lower == KvTypeName(type)) return type;
  }
  return std::nullopt;
}

std::map<std::string, KvType> KvTypeNames() {
  std::map<std::string, KvType> names;
  for (KvType type : {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0}) {
    names.emplace(KvTypeName(type), type);
  }
  return names;
}

size_t KvRowBytes(KvType type, int64_t elements) {
  const int64_t blocks = (elements + kKvBlockElements - 1) / kKvBlockElements;
  switch (type) {
    case KvType::kF16:
      return static_cast<size_t>(elements) * sizeof(uint16_t);
    case KvType::kQ8_0:
      return static_cast<size_t>(blocks * kQ8_0BlockBytes);
    case KvType::kQ4_0:
      return static_cast<size_t>(blocks * kQ4_0BlockBytes);
  }
  return 0;
}

int KvCache::CapacityTokensFor(const KvLayerSpec& layer, const KvCacheOptions& options) {
  if (layer.window_tokens <= 0) return options.context_tokens;
  return std::min(options.context_tokens, layer.window_tokens + options.batch_tokens);
}

size_t KvCache::BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options,
                         KvType type) {
  size_t bytes = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].source_layer != static_cast<int>(i)) continue;  // shares another's KV
    bytes += LayerBytesFor(layers[i], options, type);
  }
  return bytes;
}

size_t KvCache::LayerBytesFor(const KvLayerSpec& layer, const KvCacheOptions& options,
                              KvType type) {
  const size_t row_bytes =
      KvRowBytes(type, static_cast<int64_t>(layer.num_kv_heads) * layer.head_dim);
  // Keys and values, for every slot and every row the layer keeps.
  return 2ull * options.slots * CapacityTokensFor(layer, options) * row_bytes;
}

}  // namespace snug
