#include "kv/kv_cache.h"

#include <algorithm>
#include <new>
#include <string>

#include "base/check.h"

namespace snug {
namespace {

int CapacityTokens(const KvLayerSpec& layer, const KvCacheOptions& options) {
  if (layer.window_tokens <= 0) return options.context_tokens;
  return std::min(options.context_tokens, layer.window_tokens + options.batch_tokens);
}

}  // namespace

size_t KvCache::BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options) {
  size_t elements = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].source_layer != static_cast<int>(i)) continue;
    elements += 2ull * options.slots * CapacityTokens(layers[i], options) *
                layers[i].num_kv_heads * layers[i].head_dim;
  }
  return elements * sizeof(uint16_t);
}

Result<std::unique_ptr<KvCache>> KvCache::Create(std::vector<KvLayerSpec> layers,
                                                 const KvCacheOptions& options) {
  if (options.slots < 1 || options.context_tokens < 1 || options.batch_tokens < 1) {
    return InvalidArgument("kv: slots, context and batch tokens must be positive");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const int source = layers[i].source_layer;
    if (source < 0 || source > static_cast<int>(i) ||
        layers[source].source_layer != source) {
      return InvalidArgument("kv: layer " + std::to_string(i) + " shares the KV of layer " +
                             std::to_string(source) + ", which does not own one");
    }
  }
  std::unique_ptr<KvCache> cache(new KvCache());
  cache->options_ = options;
  cache->layer_data_.resize(layers.size());
  size_t offset = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].source_layer != static_cast<int>(i)) continue;
    LayerData& data = cache->layer_data_[i];
    data.capacity_tokens = CapacityTokens(layers[i], options);
    data.offset_elements = offset;
    offset += 2ull * options.slots * data.capacity_tokens * layers[i].num_kv_heads *
              layers[i].head_dim;
  }
  cache->storage_bytes_ = offset * sizeof(uint16_t);
  cache->storage_.reset(new (std::nothrow) uint16_t[std::max<size_t>(offset, 1)]);
  if (cache->storage_ == nullptr) {
    return ResourceExhausted("kv: cannot allocate " + std::to_string(cache->storage_bytes_) +
                             " bytes for the KV cache");
  }
  cache->layers_ = std::move(layers);
  cache->lengths_.assign(options.slots, 0);
  return cache;
}

uint16_t* KvCache::keys(int layer, int slot) const {
  const int source = Source(layer);
  const LayerData& data = layer_data_[source];
  return storage_.get() + data.offset_elements +
         static_cast<size_t>(slot) * data.capacity_tokens * row_elements(source);
}

uint16_t* KvCache::values(int layer, int slot) const {
  const int source = Source(layer);
  const LayerData& data = layer_data_[source];
  return storage_.get() + data.offset_elements +
         (static_cast<size_t>(options_.slots) + slot) * data.capacity_tokens *
             row_elements(source);
}

void KvCache::CopySlot(int from, int to, int length) {
  CHECK(from >= 0 && from < slots() && to >= 0 && to < slots()) << from << " -> " << to;
  CHECK(length >= 0 && length <= lengths_[from]) << length << " of " << lengths_[from];
  if (from != to) {
    for (size_t layer = 0; layer < layers_.size(); ++layer) {
      if (Source(layer) != static_cast<int>(layer)) continue;
      // A ring that has wrapped holds its rows at position % capacity in every slot alike, so
      // copying the used rows as they lie keeps RowOf valid in `to`.
      CHECK(length == lengths_[from] || lengths_[from] <= capacity_tokens(layer))
          << "kv: slot " << from << " has overwritten ring rows before position " << length;
      const size_t elements =
          static_cast<size_t>(std::min(length, capacity_tokens(layer))) * row_elements(layer);
      std::copy_n(keys(layer, from), elements, keys(layer, to));
      std::copy_n(values(layer, from), elements, values(layer, to));
    }
  }
  lengths_[to] = length;
}

}  // namespace snug
