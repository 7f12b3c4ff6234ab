// safetensors (specs/models.md §1.2): a header parser that validates every entry against the
// file's size (so `snug pull` can check a remote file from its first bytes), and a reader that
// maps the file and hands out zero-copy views. Sharded checkpoints are ShardedWeights.
// A safetensors file is hostile input: a truncated, corrupt or crafted one gets a precise Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "tensor/tensor_view.h"

namespace snug::safetensors {

// Every element type of the format (the reference implementation's list).
enum class ElementType {
  kBool, kU8, kI8, kF8E5M2, kF8E4M3, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64,
};
std::string_view ElementTypeName(ElementType type);  // "BF16", as the header spells it
size_t ElementBytes(ElementType type);
std::optional<ElementType> ElementTypeFromName(std::string_view name);

// The reference implementation's limit: a header is JSON text, 100 MB is far past any model's.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
inline constexpr int kMaxRank = 8;

struct TensorInfo {
  std::string name;
  ElementType type = ElementType::kU8;
  std::vector<int64_t> shape;  // outermost first
  uint64_t begin = 0;          // byte range relative to the first byte after the header
  uint64_t end = 0;

  uint64_t bytes() const { return end - begin; }
  int64_t elements() const;
};

struct Header {
  uint64_t header_bytes = 0;  // the JSON text's length (the data starts at 8 + header_bytes)
  uint64_t file_bytes = 0;
  std::vector<TensorInfo> tensors;  // in data order
  std::vector<std::pair<std::string, std::string>> metadata;  // "__metadata__", sorted by key

  uint64_t data_offset() const { return 8 + header_bytes; }
  const TensorInfo* Find(std::string_view name) const;
};

// Bytes of the prefix needed to parse the header: 8, then 8 + the length it declares.
// Fails when the declared length is over the limit or past `file_bytes`.
Result<uint64_t> HeaderPrefixBytes(std::span<const uint8_t> first8, uint64_t file_bytes);

// Parses the header from the file's first bytes (at least HeaderPrefixBytes of them) and checks
// every tensor against the whole file's size: dtype × shape = byte length, ranges inside the
// data, no overlaps, no duplicate names, __metadata__ strings only. `source` names the file in
// messages.
Result<Header> ParseHeader(std::span<const uint8_t> prefix, uint64_t file_bytes,
                           std::string_view source);

// A mapped safetensors file.
class File {
 public:
  static Result<File> Open(const std::string& path);
  // For tests and fuzzing: parses bytes that outlive the File.
  static Result<File> Parse(std::span<const uint8_t> bytes, std::string_view source = "memory");
  static Result<File> Parse(std::vector<uint8_t>&& temporary, std::string_view = {}) = delete;

  const Header& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::string& source() const { return source_; }
  const TensorInfo* Find(std::string_view name) const { return header_.Find(name); }
  std::span<const uint8_t> Data(const TensorInfo& tensor) const {
    return bytes_.subspan(header_.data_offset() + tensor.begin, tensor.bytes());
  }

 private:
  MappedFile mapping_;
  std::span<const uint8_t> bytes_;
  std::string source_;
  Header header_;
};

// A float tensor as a TensorView over `bytes` (F32/F16/BF16, rank 1..4, no zero dimension);
// other types fail with the tensor's name.
Result<TensorView> FloatView(const TensorInfo& tensor, std::span<const uint8_t> bytes);

// The weights of a checkpoint: one file, or the shards named by model.safetensors.index.json.
// Each tensor name lives in exactly one shard; lookups are by name.
class ShardedWeights {
 public:
  struct Entry {
    const File* file;
    const TensorInfo* info;
    std::span<const uint8_t> data() const { return file->Data(*info); }
  };

  // `index_json` is the index file's text; shard names must be plain file names in `dir`.
  static Result<ShardedWeights> OpenIndex(const std::string& dir, std::string_view index_json);
  static Result<ShardedWeights> OpenFiles(const std::vector<std::string>& paths);

  const Entry* Find(std::string_view name) const;
  const std::vector<std::string>& names() const { return names_; }  // in shard, then data order
  const std::vector<std::unique_ptr<File>>& files() const { return files_; }
  uint64_t data_bytes() const;  // the tensors' bytes, all shards

 private:
  Status Add(std::unique_ptr<File> file);

  std::vector<std::unique_ptr<File>> files_;  // pointers stay put when the object moves
  std::vector<std::string> names_;
  std::unordered_map<std::string, Entry> index_;
};

// Builds a safetensors file: tensors in insertion order, data produced by `fill` callbacks at
// Write() time (one tensor buffer at a time), the header padded with spaces to 8 bytes as the
// reference writer does, `__metadata__` first.
class Writer {
 public:
  using Fill = std::function<void(std::span<uint8_t> bytes)>;

  void SetMetadata(std::string key, std::string value);
  // `fill` receives exactly elements × ElementBytes(type) bytes. Names are unique.
  void AddTensor(std::string name, ElementType type, std::vector<int64_t> shape, Fill fill);
  Status Write(const std::string& path) const;  // a failed write removes the partial file
  std::vector<uint8_t> WriteToMemory() const;

 private:
  std::string HeaderText() const;
  struct Pending {
    std::string name;
    ElementType type;
    std::vector<int64_t> shape;
    Fill fill;
    uint64_t bytes;
  };
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<Pending> tensors_;
};

// Names the index file's weight map maps to each shard: the parsed "weight_map" (name -> file),
// checked (strings only, plain file names). Exposed for `snug pull`, which needs the shard list.
Result<std::vector<std::pair<std::string, std::string>>> ParseIndex(std::string_view index_json);

}  // namespace snug::safetensors
