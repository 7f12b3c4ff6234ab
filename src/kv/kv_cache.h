// The KV cache, built from per-layer specs: full-attention layers keep every position of the
// context, sliding-window layers keep a ring of their window (plus one batch, so a prefill
// chunk can still see its own earlier tokens), and layers that share another layer's KV hold
// nothing. Rows are stored in one KV type (f16, q8_0 or q4_0), allocated once; sequences own
// fixed slots. Callers write f32 rows (converted here) and read typed per-head views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

// Element type of cached keys and values. q8_0 stores 32 values in 34 bytes (f16 scale + 32
// int8), q4_0 in 18 bytes (f16 scale + 32 nibbles), as ggml's blocks of the same names
// (tensor/blocks.h); their layers need head_dim a multiple of 32, so every head is whole blocks.
enum class KvType { kF16, kQ8_0, kQ4_0 };
std::string_view KvTypeName(KvType type);                     // "f16", "q8_0", "q4_0"
std::optional<KvType> KvTypeFromName(std::string_view name);  // case-insensitive
std::map<std::string, KvType> KvTypeNames();  // every type by its name, for flag parsers
// Bytes of one cached row of `elements` values; block types pad a row to whole blocks.
size_t KvRowBytes(KvType type, int64_t elements);

struct KvCacheOptions {
  int slots = 1;              // sequences that can be held at once
  int context_tokens = 4096;  // positions per sequence
  int batch_tokens = 512;     // the largest chunk appended at once
  KvType type = KvType::kF16;
};

// One KV head's rows in one slot, as attention reads them: row r (a position's RowOf) of this
// head starts at keys + r · row_bytes (values alike), stored in `type` — f16 values, or
// head_dim / 32 blocks of BlockQ8_0 / BlockQ4_0.
struct KvHeadRows {
  KvType type = KvType::kF16;
  const std::byte* keys = nullptr;
  const std::byte* values = nullptr;
  size_t row_bytes = 0;
};

class KvCache {
 public:
  // Refuses a block type (q8_0, q4_0) for layers whose head_dim is not a multiple of 32.
  static Result<std::unique_ptr<KvCache>> Create(std::vector<KvLayerSpec> layers,
                                                 const KvCacheOptions& options);

  // Bytes the cache would allocate, in options.type (the memory plan uses this without
  // allocating).
  static size_t BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options);
  // The same for any KV type. A pure function: nothing allocated.
  static size_t BytesFor(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options,
                         KvType type);
  // Rows kept per slot for `layer` under `options`: the context, or window + batch for a ring.
  static int CapacityTokensFor(const KvLayerSpec& layer, const KvCacheOptions& options);
  // Keys and values of one layer that owns its KV, for every slot: what Create allocates for it
  // and BytesFor sums.
  static size_t LayerBytesFor(const KvLayerSpec& layer, const KvCacheOptions& options,
                              KvType type);

  int slots() const { return options_.slots; }
  KvType type() const { return options_.type; }
  int context_tokens() const { return options_.context_tokens; }
  size_t bytes() const { return storage_bytes_; }
  const KvLayerSpec& layer(int index) const { return layers_[index]; }

  // Rows kept per slot for a layer: the context, or window + batch for a ring.
  int capacity_tokens(int layer) const { return layer_data_[Source(layer)].capacity_tokens; }
  // Row index of `position` in the layer's storage (position modulo the ring).
  int RowOf(int layer, int position) const { return position % capacity_tokens(layer); }
  // Values per row: [num_kv_heads × head_dim]; and the row's bytes in the cache's type.
  int64_t row_elements(int layer) const {
    return static_cast<int64_t>(layers_[layer].num_kv_heads) * layers_[layer].head_dim;
  }
  size_t row_bytes(int layer) const { return KvRowBytes(options_.type, row_elements(layer)); }

  // Stores the keys and values of `position` of `slot` ([num_kv_heads × head_dim] f32 each),
  // converted to the cache's type, in row RowOf(position) of `layer` (which owns its KV).
  void WriteRow(int layer, int slot, int position, const float* keys, const float* values);
  // Decodes row RowOf(position) back to f32 ([num_kv_heads × head_dim] each).
  void ReadRow(int layer, int slot, int position, float* keys, float* values) const;
  // Head `kv_head`'s rows of `slot` in `layer` (a sharing layer reads its source's).
  KvHeadRows HeadRows(int layer, int slot, int kv_head) const;

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
    size_t offset_bytes = 0;  // start of slot 0's keys; values follow all slots' keys
  };
  KvCache() = default;
  int Source(int layer) const { return layers_[layer].source_layer; }
  // Slot `slot`'s rows of keys (or values) of the layer's source.
  std::byte* KeyRows(int layer, int slot) const;
  std::byte* ValueRows(int layer, int slot) const;

  std::vector<KvLayerSpec> layers_;
  KvCacheOptions options_;
  std::vector<LayerData> layer_data_;
  std::vector<int> lengths_;
  std::unique_ptr<std::byte[]> storage_;
  size_t storage_bytes_ = 0;
};

}  // namespace snug
