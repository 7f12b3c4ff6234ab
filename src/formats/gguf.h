// GGUF v3 (specs/models.md §1.1): a reader that maps the file, validates every count, offset,
// size, alignment, type id and dimension against it, and hands out zero-copy tensor views; and
// a writer that streams tensors to disk (real-shape models do not fit in memory twice).
// A GGUF file is hostile input: a truncated, corrupt or crafted file gets a precise Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace snug::gguf {

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view ValueTypeName(ValueType type);

struct Value;

// Numeric and bool arrays stay as raw little-endian bytes in the mapping (a 262144-entry score
// array costs nothing to parse); string arrays become views (16 bytes per string, for a tokenizer
// vocabulary), nested arrays become `items`.
struct Array {
  ValueType element_type = ValueType::kU8;
  uint64_t count = 0;
  std::span<const uint8_t> raw;           // numeric/bool elements: count × element size
  std::vector<std::string_view> strings;  // string elements
  std::vector<Value> items;               // array elements (type kArray)

  // Element i; each CHECKs the index and the element type: IntAt takes integer or bool elements
  // (a u64 above INT64_MAX CHECK-fails: use U64At), U64At unsigned or bool, FloatAt integer or
  // float, BoolAt bool, StringAt string. Element types come from the file: check them first.
  int64_t IntAt(uint64_t i) const;
  uint64_t U64At(uint64_t i) const;  // unsigned elements, no range limit
  double FloatAt(uint64_t i) const;
  bool BoolAt(uint64_t i) const;
  std::string_view StringAt(uint64_t i) const;
  bool is_numeric() const;  // integer, float or bool elements (kept in `raw`)
};

// Bytes of one element of a numeric or bool type; 0 for string and array.
size_t ValueTypeSize(ValueType type);

struct Value {
  ValueType type = ValueType::kU8;
  uint64_t u = 0;      // unsigned integers and bool
  int64_t i = 0;       // signed integers
  double f = 0;        // f32 / f64
  std::string_view s;  // string (points into the file)
  Array array;

  bool is_integer() const;
  bool is_float() const { return type == ValueType::kF32 || type == ValueType::kF64; }
};

struct KeyValue {
  std::string_view key;
  Value value;
};

struct TensorInfo {
  std::string_view name;
  TensorView view;      // shape outermost-first (GGUF's ne reversed)
  uint64_t offset = 0;  // relative to the data section
  uint64_t bytes = 0;
};

class Parser;

class File {
 public:
  static Result<File> Open(const std::string& path);
  // For tests and fuzzing: parses bytes that outlive the File.
  static Result<File> Parse(std::span<const uint8_t> bytes);
  // The views would dangle: keep the bytes in a named variable.
  static Result<File> Parse(std::vector<uint8_t>&& temporary) = delete;

  // A File assembled in memory rather than read: the metadata of `header` (a GGUF file without
  // tensors, as Writer::WriteToMemory makes it; kept by the File) and tensors that view memory
  // `owner` keeps alive (a model directory's mapped safetensors, small converted vectors). This
  // is how a Hugging Face / MLX directory reaches the spec parsers and loaders without a copy of
  // its weights. Names must be unique and 1..63 bytes; each view's data must not be null.
  struct ComposedTensor {
    std::string name;
    TensorView view;
  };
  static Result<File> Compose(std::vector<uint8_t> header, std::vector<ComposedTensor> tensors,
                              std::shared_ptr<const void> owner);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_bytes() const { return bytes_.size(); }
  const std::vector<KeyValue>& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  const Value* Find(std::string_view key) const;
  const TensorInfo* FindTensor(std::string_view name) const;

  // Typed getters with precise errors ("gguf: key 'gemma3.block_count' is missing" / "has type
  // string, expected an integer"). Integers of any width and signedness are accepted where the
  // value fits.
  Result<int64_t> GetInt(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;  // f32/f64 (integers accepted)
  Result<bool> GetBool(std::string_view key) const;
  Result<std::string_view> GetString(std::string_view key) const;
  Result<const Array*> GetArray(std::string_view key) const;
  // "general.architecture", the prefix of the architecture's keys.
  std::string_view architecture() const;

 private:
  MappedFile mapping_;  // empty for Parse()
  // Compose(): the header's bytes, the tensors' names and what holds their data.
  std::vector<uint8_t> owned_header_;
  std::vector<std::string> owned_names_;
  std::shared_ptr<const void> owner_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::vector<TensorInfo> tensors_;
  // Lookups by name; the views point into the file, whose address survives a move.
  std::unordered_map<std::string_view, size_t> key_index_;
  std::unordered_map<std::string_view, size_t> tensor_index_;

  friend class Parser;
};

// Builds a GGUF file: metadata in insertion order (a key set twice keeps its first position
// and the new value), tensors in insertion order, data written by `fill` callbacks at
// Write() time so a tensor's bytes are produced one at a time.
class Writer {
 public:
  using Fill = std::function<void(std::span<uint8_t> bytes)>;

  void SetU32(std::string_view key, uint32_t value);
  void SetI32(std::string_view key, int32_t value);
  void SetU64(std::string_view key, uint64_t value);
  void SetF32(std::string_view key, float value);
  void SetBool(std::string_view key, bool value);
  void SetString(std::string_view key, std::string_view value);
  void SetStringArray(std::string_view key, const std::vector<std::string>& values);
  void SetI32Array(std::string_view key, const std::vector<int32_t>& values);
  void SetU32Array(std::string_view key, const std::vector<uint32_t>& values);
  void SetF32Array(std::string_view key, const std::vector<float>& values);
  void SetBoolArray(std::string_view key, const std::vector<bool>& values);
  // Any value, nested arrays included (tests of the reader).
  void SetValue(std::string_view key, const Value& value);

  // general.alignment (a power of two, default 32): the key is written only when it differs from
  // the default. SetU32("general.alignment", n) does the same.
  void SetAlignment(uint32_t alignment);

  // shape outermost-first; `fill` receives exactly RowBytes(type, cols) × rows bytes. Names are
  // 1..63 bytes (llama.cpp's GGML_MAX_NAME counts the NUL) and unique; dims 1..4, each ≥ 1.
  void AddTensor(std::string_view name, DType type, std::vector<int64_t> shape, Fill fill);

  // Streams the file: one tensor buffer (the largest tensor's size) is the only large allocation.
  // A failed write (disk full) returns its Status and removes the partial file.
  Status Write(const std::string& path) const;
  std::vector<uint8_t> WriteToMemory() const;  // small files in tests

 private:
  using Sink = std::function<Status(std::span<const uint8_t> bytes)>;
  void SetEncoded(std::string_view key, std::vector<uint8_t> encoded);
  Status Emit(const Sink& sink) const;

  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    Fill fill;
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> metadata_;  // key, encoded value
  std::vector<PendingTensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace snug::gguf
