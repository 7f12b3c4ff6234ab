// The KV cache's storage: one allocation laid out layer by layer (each owning layer: every
// slot's key rows, then every slot's value rows), rows in the cache's KV type. Writes convert
// f32 rows with the kernels' quantizers; attention reads typed per-head views (HeadRows).
#include "kv/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "base/check.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"

namespace snug {
namespace {

DType DTypeOf(KvType type) {
  switch (type) {
    case KvType::kF16:
      return DType::kF16;
    case KvType::kQ8_0:
      return DType::kQ8_0;
    case KvType::kQ4_0:
      return DType::kQ4_0;
  }
  return DType::kF16;
}

// Whether the attention kernels can read `layer` in `type`: block types need whole blocks per
// head (a head's rows must start on a block) and a query that fits their stack copy.
Status CheckLayerType(const KvLayerSpec& layer, size_t index, KvType type) {
  if (type == KvType::kF16) return Status::Ok();
  if (layer.head_dim % kQK != 0 || layer.head_dim > kernels::kMaxAttentionHeadDim) {
    return InvalidArgument("kv: a " + std::string(KvTypeName(type)) +
                           " KV cache needs head_dim a multiple of " + std::to_string(kQK) +
                           " (at most " + std::to_string(kernels::kMaxAttentionHeadDim) +
                           "), but layer " + std::to_string(index) + " has head_dim " +
                           std::to_string(layer.head_dim) + "; use the f16 KV type");
  }
  return Status::Ok();
}

}  // namespace

size_t KvCache::BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options) {
  return BytesFor(layers, options, options.type);
}

Result<std::unique_ptr<KvCache>> KvCache::Create(std::vector<KvLayerSpec> layers,
                                                 const KvCacheOptions& options) {
  if (options.slots < 1 || options.context_tokens < 1 || options.batch_tokens < 1) {
    return InvalidArgument("kv: slots, context and batch tokens must be positive");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const int source = layers[i].source_layer;
    if (source < 0 || source > static_cast<int>(i) || layers[source].source_layer != source) {
      return InvalidArgument("kv: layer " + std::to_string(i) + " shares the KV of layer " +
                             std::to_string(source) + ", which does not own one");
    }
    RETURN_IF_ERROR(CheckLayerType(layers[i], i, options.type));
  }
  std::unique_ptr<KvCache> cache(new KvCache());
  cache->options_ = options;
  cache->layer_data_.resize(layers.size());
  size_t offset = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].source_layer != static_cast<int>(i)) continue;
    LayerData& data = cache->layer_data_[i];
    data.capacity_tokens = CapacityTokensFor(layers[i], options);
    data.offset_bytes = offset;
    offset += LayerBytesFor(layers[i], options, options.type);
  }
  cache->storage_bytes_ = offset;
  cache->storage_.reset(new (std::nothrow) std::byte[std::max<size_t>(offset, 1)]);
  if (cache->storage_ == nullptr) {
    return ResourceExhausted("kv: cannot allocate " + std::to_string(cache->storage_bytes_) +
                             " bytes for the KV cache");
  }
  cache->layers_ = std::move(layers);
  cache->lengths_.assign(options.slots, 0);
  return cache;
}

std::byte* KvCache::KeyRows(int layer, int slot) const {
  const int source = Source(layer);
  const LayerData& data = layer_data_[source];
  return storage_.get() + data.offset_bytes +
         static_cast<size_t>(slot) * data.capacity_tokens * row_bytes(source);
}

std::byte* KvCache::ValueRows(int layer, int slot) const {
  const int source = Source(layer);
  const LayerData& data = layer_data_[source];
  return storage_.get() + data.offset_bytes +
         (static_cast<size_t>(options_.slots) + slot) * data.capacity_tokens * row_bytes(source);
}

void KvCache::WriteRow(int layer, int slot, int position, const float* keys, const float* values) {
  DCHECK(Source(layer) == layer) << "kv: layer " << layer << " stores no KV";
  DCHECK(slot >= 0 && slot < slots() && position >= 0 && position < context_tokens());
  const size_t offset = static_cast<size_t>(RowOf(layer, position)) * row_bytes(layer);
  const DType type = DTypeOf(options_.type);
  kernels::Quantize(type, keys, 1, row_elements(layer), KeyRows(layer, slot) + offset);
  kernels::Quantize(type, values, 1, row_elements(layer), ValueRows(layer, slot) + offset);
}

void KvCache::ReadRow(int layer, int slot, int position, float* keys, float* values) const {
  const size_t offset = static_cast<size_t>(RowOf(layer, position)) * row_bytes(layer);
  const DType type = DTypeOf(options_.type);
  kernels::DequantizeRow(type, KeyRows(layer, slot) + offset, keys, row_elements(layer));
  kernels::DequantizeRow(type, ValueRows(layer, slot) + offset, values, row_elements(layer));
}

KvHeadRows KvCache::HeadRows(int layer, int slot, int kv_head) const {
  // Every head is whole blocks (Create checked head_dim), so its bytes start at this offset.
  const size_t head_offset =
      KvRowBytes(options_.type, static_cast<int64_t>(kv_head) * layers_[layer].head_dim);
  return {.type = options_.type,
          .keys = KeyRows(layer, slot) + head_offset,
          .values = ValueRows(layer, slot) + head_offset,
          .row_bytes = row_bytes(layer)};
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
      const size_t bytes =
          static_cast<size_t>(std::min(length, capacity_tokens(layer))) * row_bytes(layer);
      std::memcpy(KeyRows(layer, to), KeyRows(layer, from), bytes);
      std::memcpy(ValueRows(layer, to), ValueRows(layer, from), bytes);
    }
  }
  lengths_[to] = length;
}

}  // namespace snug
