// The KV cache, built from per-layer specs: full-attention layers keep every position of the
// context, sliding-window layers keep a ring of their window (plus one batch, so a prefill
// chunk can still see its own earlier tokens), and layers that share another layer's KV hold
// nothing. Storage is f16, allocated once; sequences own fixed slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"

namespace snug {

struct KvLayerSpec {
  int num_kv_heads = 0;
  int head_dim = 0;
  int window_tokens = 0;  // 0: full attention
  int source_layer = -1;  // != own index: reads that layer's KV and stores none
};

struct KvCacheOptions {
  int slots = 1;              // sequences that can be held at once
  int context_tokens = 4096;  // positions per sequence
  int batch_tokens = 512;     // the largest chunk appended at once
};

class KvCache {
 public:
  static Result<std::unique_ptr<KvCache>> Create(std::vector<KvLayerSpec> layers,
                                                 const KvCacheOptions& options);

  // Bytes the cache would allocate (the memory plan uses this without allocating).
  static size_t BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options);

  int slots() const { return options_.slots; }
  int context_tokens() const { return options_.context_tokens; }
  size_t bytes() const { return storage_bytes_; }
  const KvLayerSpec& layer(int index) const { return layers_[index]; }

  // Rows kept per slot for a layer: the context, or window + batch for a ring.
  int capacity_tokens(int layer) const { return layer_data_[Source(layer)].capacity_tokens; }
  // Row index of `position` in the layer's storage (position modulo the ring).
  int RowOf(int layer, int position) const { return position % capacity_tokens(layer); }
  // f16 rows of [num_kv_heads × head_dim] values for one slot, `capacity_tokens` of them.
  uint16_t* keys(int layer, int slot) const;
  uint16_t* values(int layer, int slot) const;
  int64_t row_elements(int layer) const {
    return static_cast<int64_t>(layers_[layer].num_kv_heads) * layers_[layer].head_dim;
  }

  // Positions held per slot (the next position to append); callers advance it after Forward.
  int length(int slot) const { return lengths_[slot]; }
  void set_length(int slot, int length) { lengths_[slot] = length; }
  void Clear(int slot) { lengths_[slot] = 0; }

 private:
  struct LayerData {
    int capacity_tokens = 0;
    size_t offset_elements = 0;  // start of slot 0's keys; values follow all slots' keys
  };
  KvCache() = default;
  int Source(int layer) const { return layers_[layer].source_layer; }

  std::vector<KvLayerSpec> layers_;
  KvCacheOptions options_;
  std::vector<LayerData> layer_data_;
  std::vector<int> lengths_;
  std::unique_ptr<uint16_t[]> storage_;
  size_t storage_bytes_ = 0;
};

}  // namespace snug
