// The KV cache, built from per-layer specs: full-attention layers keep every position of the
// context, sliding-window layers keep a ring of their window (plus one batch, so a prefill
// chunk can still see its own earlier tokens), and layers that share another layer's KV hold
// nothing. Storage is f16, allocated once; sequences own fixed slots. The byte math also knows
// the block-quantized KV types (q8_0, q4_0) so the memory plan can size them; storing them is
// not implemented yet (Create allocates f16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
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

// Element type of cached keys and values. q8_0 stores 32 values in 34 bytes (f16 scale + 32
// int8), q4_0 in 18 bytes (f16 scale + 32 nibbles), as ggml's blocks of the same names.
enum class KvType { kF16, kQ8_0, kQ4_0 };
std::string_view KvTypeName(KvType type);                   // "f16", "q8_0", "q4_0"
std::optional<KvType> KvTypeFromName(std::string_view name);  // case-insensitive
// Bytes of one cached row of `elements` values; block types pad a row to whole blocks.
size_t KvRowBytes(KvType type, int64_t elements);

class KvCache {
 public:
  static Result<std::unique_ptr<KvCache>> Create(std::vector<KvLayerSpec> layers,
                                                 const KvCacheOptions& options);

  // Bytes the cache would allocate (the memory plan uses this without allocating).
  static size_t BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options);
  // The same for any KV type (f16 gives the bytes above). A pure function: nothing allocated.
  static size_t BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options,
                         KvType type);
  // Rows kept per slot for `layer` under `options`: the context, or window + batch for a ring.
  static int CapacityTokensFor(const KvLayerSpec& layer, const KvCacheOptions& options);

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
  // Makes slot `to` hold the first `length` positions of slot `from` (every layer that owns
  // storage; a ring's rows too), so n choices can share one prefilled prompt.
  void CopySlot(int from, int to, int length);

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
