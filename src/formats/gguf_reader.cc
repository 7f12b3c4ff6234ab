// Parses and validates a GGUF file (specs/models.md §1.1) against its own bytes: every count is
// bounded by the bytes left before anything is allocated or looped over, so a hostile file gets
// a precise Status and never a crash, a hang or an allocation the file does not back.
// Decisions beyond the spec: versions 2 and 3 are read (same layout), 1 is refused; keys and
// tensor names are non-empty; bools are 0 or 1; every dimension is ≥ 1; tensors may come in any
// order with gaps, but must not overlap.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_set>

#include "formats/gguf.h"

namespace snug::gguf {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF is read in place: little-endian");

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint64_t kHeaderBytes = 24;
constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;  // key length, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes =
    8 + 1 + 4 + 8 + 4 + 8;                  // name, n_dims, ne[0], type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;  // element type, count
constexpr uint64_t kMinStringBytes = 8;     // length
constexpr int kMaxArrayDepth = 8;
// Nested arrays are parsed into Values (~140 bytes each, from 12 bytes of file); no model uses
// them, so their total is capped to keep a crafted file from multiplying its size in memory.
constexpr uint64_t kMaxNestedValues = 1 << 16;
constexpr uint64_t kMaxAlignment = 1 << 20;
constexpr size_t kMaxNameBytes = 63;  // llama.cpp: GGML_MAX_NAME = 64 including the NUL
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// ggml's name for a type id snug cannot even list (ggml.h's enum ggml_type), with the id: the
// interleaved Q4_0 layouts ggml itself has since removed (it repacks Q4_0 at load instead).
std::string GgmlTypeName(uint32_t type_id) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {31, "Q4_0_4_4"}, {32, "Q4_0_4_8"}, {33, "Q4_0_8_8"},
      {36, "IQ4_NL_4_4"}, {37, "IQ4_NL_4_8"}, {38, "IQ4_NL_8_8"},
  };
  for (const auto& [id, name] : kNames) {
    if (id == type_id) {
      return std::string(name) + " (ggml type " + std::to_string(id) +
             ", removed from ggml: convert the model again)";
    }
  }
  return "id " + std::to_string(type_id) + " (unknown to ggml too)";
}

// Names and keys come from the file: escape what a terminal should not see, cap the length.
std::string Printable(std::string_view text) {
  constexpr size_t kMaxShown = 96;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string Quoted(std::string_view text) {
  std::string out = "'";  // appended piecewise: GCC 12 -Wrestrict misfires on "'" + string&&
  out += Printable(text);
  out += '\'';
  return out;
}

std::string ShapeText(const uint64_t* ne, uint32_t n_dims) {
  std::string text = "[";
  for (uint32_t d = 0; d < n_dims; ++d) {
    if (d > 0) text += ", ";
    text += std::to_string(ne[d]);
  }
  return text + "]";
}

}  // namespace

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, File* file) : bytes_(bytes), file_(file) {}

  Status Run() {
    RETURN_IF_ERROR(ParseHeader());
    for (uint64_t i = 0; i < kv_count_; ++i) RETURN_IF_ERROR(ParseKeyValue(i));
    RETURN_IF_ERROR(ParseAlignment());
    for (uint64_t i = 0; i < tensor_count_; ++i) RETURN_IF_ERROR(ParseTensorInfo(i));
    return PlaceTensors();
  }

 private:
  uint64_t left() const { return bytes_.size() - pos_; }

  // `what` is called only on failure, so contexts cost nothing on the happy path.
  template <class What>
  Status Need(uint64_t count, const What& what) {
    if (count <= left()) return Status::Ok();
    return DataLoss("gguf: file truncated: " + what() + " needs " + std::to_string(count) +
                    " bytes at offset " + std::to_string(pos_) + ", only " +
                    std::to_string(left()) + " left");
  }

  template <class T, class What>
  Status Read(T* out, const What& what) {
    RETURN_IF_ERROR(Need(sizeof(T), what));
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  template <class What>
  Status ReadString(std::string_view* out, const What& what) {
    uint64_t length = 0;
    RETURN_IF_ERROR(Read(&length, [&] { return what() + " length"; }));
    if (length > left()) {
      return DataLoss("gguf: file truncated: " + what() + " has length " + std::to_string(length) +
                      " at offset " + std::to_string(pos_ - 8) + ", only " +
                      std::to_string(left()) + " bytes left");
    }
    *out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return Status::Ok();
  }

  Status ParseHeader() {
    const uint64_t size = bytes_.size();
    uint32_t magic = 0;
    RETURN_IF_ERROR(Read(&magic, [] { return std::string("magic"); }));
    if (magic != kMagic) {
      return DataLoss("gguf: bad magic '" + Printable({reinterpret_cast<const char*>(&magic), 4}) +
                      "', expected 'GGUF' (not a GGUF file)");
    }
    RETURN_IF_ERROR(Read(&file_->version_, [] { return std::string("version"); }));
    const uint32_t version = file_->version_;
    if (version == 1) {
      return Unimplemented(
          "gguf: version 1 is not supported (32-bit counts and lengths); re-convert the model "
          "with a current llama.cpp to get version 3");
    }
    if (version != 2 && version != 3) {
      const uint32_t swapped = __builtin_bswap32(version);
      if (swapped >= 1 && swapped <= 3) {
        return Unimplemented("gguf: version " + std::to_string(version) +
                             " is a big-endian file; snug reads little-endian GGUF only");
      }
      return Unimplemented("gguf: unsupported version " + std::to_string(version) +
                           " (snug reads versions 2 and 3)");
    }
    RETURN_IF_ERROR(Read(&tensor_count_, [] { return std::string("tensor count"); }));
    RETURN_IF_ERROR(Read(&kv_count_, [] { return std::string("metadata count"); }));
    // Bound both counts by the bytes that could hold them before reserving anything.
    const uint64_t after_header = size - kHeaderBytes;
    if (kv_count_ > after_header / kMinKeyValueBytes) {
      return DataLoss("gguf: metadata count " + std::to_string(kv_count_) + " cannot fit in the " +
                      std::to_string(after_header) +
                      " bytes after the header (each key-value takes at least " +
                      std::to_string(kMinKeyValueBytes) + ")");
    }
    if (tensor_count_ > (after_header - kv_count_ * kMinKeyValueBytes) / kMinTensorInfoBytes) {
      return DataLoss("gguf: tensor count " + std::to_string(tensor_count_) +
                      " cannot fit in the " + std::to_string(after_header) +
                      " bytes after the header (each tensor info takes at least " +
                      std::to_string(kMinTensorInfoBytes) + ")");
    }
    file_->metadata_.reserve(kv_count_);
    file_->key_index_.reserve(kv_count_);
    file_->tensors_.reserve(tensor_count_);
    file_->tensor_index_.reserve(tensor_count_);
    return Status::Ok();
  }

  Status ParseKeyValue(uint64_t index) {
    const auto where = [&] { return "key-value #" + std::to_string(index); };
    KeyValue kv;
    RETURN_IF_ERROR(ReadString(&kv.key, [&] { return where() + " key"; }));
    if (kv.key.empty()) return DataLoss("gguf: " + where() + " has an empty key");
    const std::string key = Quoted(kv.key);
    uint32_t type = 0;
    RETURN_IF_ERROR(Read(&type, [&] { return "type of key " + key; }));
    RETURN_IF_ERROR(CheckType(type, "key " + key + " has"));
    kv.value.type = static_cast<ValueType>(type);
    RETURN_IF_ERROR(ReadValue(key, 0, &kv.value));
    const auto [it, inserted] = file_->key_index_.emplace(kv.key, file_->metadata_.size());
    if (!inserted) {
      return DataLoss("gguf: duplicate key " + key + " (key-values #" + std::to_string(it->second) +
                      " and #" + std::to_string(index) + ")");
    }
    file_->metadata_.push_back(std::move(kv));
    return Status::Ok();
  }

  static Status CheckType(uint32_t type, const std::string& subject) {
    if (type <= static_cast<uint32_t>(ValueType::kF64)) return Status::Ok();
    return DataLoss("gguf: " + subject + " unknown value type " + std::to_string(type));
  }

  // Reads the value of `out->type`; `depth` counts the arrays around it.
  Status ReadValue(const std::string& key, int depth, Value* out) {
    const auto what = [&] { return "value of key " + key; };
    switch (out->type) {
      case ValueType::kU8: {
        uint8_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->u = v;
        break;
      }
      case ValueType::kU16: {
        uint16_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->u = v;
        break;
      }
      case ValueType::kU32: {
        uint32_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->u = v;
        break;
      }
      case ValueType::kU64: {
        RETURN_IF_ERROR(Read(&out->u, what));
        break;
      }
      case ValueType::kI8: {
        int8_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->i = v;
        break;
      }
      case ValueType::kI16: {
        int16_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->i = v;
        break;
      }
      case ValueType::kI32: {
        int32_t v;
        RETURN_IF_ERROR(Read(&v, what));
        out->i = v;
        break;
      }
      case ValueType::kI64: {
        RETURN_IF_ERROR(Read(&out->i, what));
        break;
      }
      case ValueType::kF32: {
        float v;
        RETURN_IF_ERROR(Read(&v, what));
        out->f = v;
        break;
      }
      case ValueType::kF64: {
        RETURN_IF_ERROR(Read(&out->f, what));
        break;
      }
      case ValueType::kBool: {
        uint8_t v;
        RETURN_IF_ERROR(Read(&v, what));
        if (v > 1) {
          return DataLoss("gguf: key " + key + " has bool value " + std::to_string(v) +
                          " (expected 0 or 1)");
        }
        out->u = v;
        break;
      }
      case ValueType::kString:
        return ReadString(&out->s, what);
      case ValueType::kArray:
        return ReadArray(key, depth + 1, &out->array);
    }
    return Status::Ok();
  }

  Status ReadArray(const std::string& key, int depth, Array* out) {
    if (depth > kMaxArrayDepth) {
      return DataLoss("gguf: key " + key + " nests arrays more than " +
                      std::to_string(kMaxArrayDepth) + " deep");
    }
    uint32_t type = 0;
    RETURN_IF_ERROR(Read(&type, [&] { return "array element type of key " + key; }));
    RETURN_IF_ERROR(CheckType(type, "key " + key + " has an array of"));
    out->element_type = static_cast<ValueType>(type);
    RETURN_IF_ERROR(Read(&out->count, [&] { return "array count of key " + key; }));
    const uint64_t element_bytes = ValueTypeSize(out->element_type);
    const uint64_t min_bytes = element_bytes != 0                        ? element_bytes
                               : out->element_type == ValueType::kString ? kMinStringBytes
                                                                         : kMinArrayBytes;
    if (out->count > left() / min_bytes) {
      return DataLoss("gguf: file truncated: key " + key + " has an array of " +
                      std::to_string(out->count) + " " +
                      std::string(ValueTypeName(out->element_type)) + " elements (at least " +
                      std::to_string(min_bytes) + " bytes each) at offset " + std::to_string(pos_) +
                      ", only " + std::to_string(left()) + " bytes left");
    }
    if (element_bytes != 0) {
      out->raw = bytes_.subspan(pos_, out->count * element_bytes);
      pos_ += out->raw.size();
      if (out->element_type == ValueType::kBool) {
        for (uint64_t i = 0; i < out->count; ++i) {
          if (out->raw[i] > 1) {
            return DataLoss("gguf: key " + key + " element " + std::to_string(i) +
                            " has bool value " + std::to_string(out->raw[i]) +
                            " (expected 0 or 1)");
          }
        }
      }
    } else if (out->element_type == ValueType::kString) {
      out->strings.resize(out->count);
      for (uint64_t i = 0; i < out->count; ++i) {
        RETURN_IF_ERROR(ReadString(
            &out->strings[i], [&] { return "string " + std::to_string(i) + " of key " + key; }));
      }
    } else {
      nested_values_ += out->count;
      if (nested_values_ > kMaxNestedValues) {
        return DataLoss("gguf: key " + key + " brings the nested array elements of the file to " +
                        std::to_string(nested_values_) + ", more than " +
                        std::to_string(kMaxNestedValues));
      }
      out->items.resize(out->count);
      for (Value& item : out->items) {
        item.type = ValueType::kArray;
        RETURN_IF_ERROR(ReadArray(key, depth + 1, &item.array));
      }
    }
    return Status::Ok();
  }

  Status ParseAlignment() {
    const Value* value = file_->Find("general.alignment");
    if (value == nullptr) return Status::Ok();
    if (value->type != ValueType::kU32) {
      return DataLoss("gguf: key 'general.alignment' has type " +
                      std::string(ValueTypeName(value->type)) + ", expected u32");
    }
    if (value->u == 0 || !std::has_single_bit(value->u) || value->u > kMaxAlignment) {
      return DataLoss("gguf: general.alignment = " + std::to_string(value->u) +
                      " is not a power of two from 1 to " + std::to_string(kMaxAlignment));
    }
    file_->alignment_ = value->u;
    return Status::Ok();
  }

  Status ParseTensorInfo(uint64_t index) {
    const auto where = [&] { return "tensor #" + std::to_string(index); };
    TensorInfo info;
    RETURN_IF_ERROR(ReadString(&info.name, [&] { return where() + " name"; }));
    if (info.name.empty()) return DataLoss("gguf: " + where() + " has an empty name");
    const std::string name = "tensor " + Quoted(info.name);
    if (info.name.size() > kMaxNameBytes) {
      return DataLoss("gguf: " + name + " has a " + std::to_string(info.name.size()) +
                      "-byte name, longer than " + std::to_string(kMaxNameBytes) +
                      " (llama.cpp's limit)");
    }
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(Read(&n_dims, [&] { return "dimension count of " + name; }));
    if (n_dims == 0 || n_dims > static_cast<uint32_t>(kMaxDims)) {
      return DataLoss("gguf: " + name + " has " + std::to_string(n_dims) +
                      " dimensions (snug reads 1 to " + std::to_string(kMaxDims) + ")");
    }
    uint64_t ne[kMaxDims] = {};
    for (uint32_t d = 0; d < n_dims; ++d) {
      RETURN_IF_ERROR(Read(&ne[d], [&] { return "dimensions of " + name; }));
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const std::string dim = "ne[" + std::to_string(d) + "] = " + std::to_string(ne[d]);
      if (ne[d] == 0) {
        return DataLoss("gguf: " + name + " has " + dim + " (every dimension must be >= 1)");
      }
      if (ne[d] > kMaxInt64 ||
          __builtin_mul_overflow(elements, static_cast<int64_t>(ne[d]), &elements)) {
        return DataLoss("gguf: " + name + " has shape ne = " + ShapeText(ne, n_dims) +
                        ", more than 2^63 - 1 elements");
      }
    }
    uint32_t type_id = 0;
    RETURN_IF_ERROR(Read(&type_id, [&] { return "type of " + name; }));
    const DTypeInfo* dtype = FindDType(type_id);
    if (dtype == nullptr) {
      return Unimplemented("gguf: " + name + " has type " + GgmlTypeName(type_id) +
                           ", which snug cannot run yet; files of the common types run (Q4_K_M, "
                           "Q4_0, Q8_0, Q2_K, Q3_K, IQ4_XS, MXFP4, F16, BF16, ...)");
    }
    if (ne[0] % static_cast<uint64_t>(dtype->block_elements) != 0) {
      return DataLoss("gguf: " + name + " of type " + std::string(dtype->name) + " has ne[0] = " +
                      std::to_string(ne[0]) + ", not a multiple of its block size " +
                      std::to_string(dtype->block_elements));
    }
    int64_t bytes = 0;
    if (__builtin_mul_overflow(elements / dtype->block_elements, dtype->block_bytes, &bytes)) {
      return DataLoss("gguf: " + name + " of shape ne = " + ShapeText(ne, n_dims) +
                      " needs more than 2^63 - 1 bytes");
    }
    RETURN_IF_ERROR(Read(&info.offset, [&] { return "offset of " + name; }));
    if (info.offset % file_->alignment_ != 0) {
      return DataLoss("gguf: " + name + " has offset " + std::to_string(info.offset) +
                      ", not a multiple of the alignment " + std::to_string(file_->alignment_));
    }
    info.bytes = static_cast<uint64_t>(bytes);
    info.view.dtype = dtype->dtype;
    info.view.num_dims = static_cast<int>(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      info.view.shape[n_dims - 1 - d] = static_cast<int64_t>(ne[d]);
    }
    const auto [it, inserted] = file_->tensor_index_.emplace(info.name, file_->tensors_.size());
    if (!inserted) {
      return DataLoss("gguf: duplicate tensor name " + Quoted(info.name) + " (tensors #" +
                      std::to_string(it->second) + " and #" + std::to_string(index) + ")");
    }
    file_->tensors_.push_back(info);
    return Status::Ok();
  }

  // The data section starts at the next multiple of the alignment; each tensor must lie inside
  // the file and must not overlap another (gaps and any order are fine).
  Status PlaceTensors() {
    const uint64_t size = bytes_.size();
    const uint64_t alignment = file_->alignment_;
    file_->data_offset_ = (pos_ + alignment - 1) / alignment * alignment;
    std::vector<TensorInfo>& tensors = file_->tensors_;
    if (tensors.empty()) return Status::Ok();
    if (file_->data_offset_ > size) {
      return DataLoss("gguf: file truncated: the data section starts at offset " +
                      std::to_string(file_->data_offset_) + " but the file is " +
                      std::to_string(size) + " bytes");
    }
    const uint64_t data_bytes = size - file_->data_offset_;
    for (TensorInfo& tensor : tensors) {
      if (tensor.offset > data_bytes || tensor.bytes > data_bytes - tensor.offset) {
        return DataLoss("gguf: tensor " + Quoted(tensor.name) + " (" +
                        std::to_string(tensor.bytes) + " bytes at data offset " +
                        std::to_string(tensor.offset) + ") extends past the end of the file " +
                        "(the data section holds " + std::to_string(data_bytes) + " bytes)");
      }
      tensor.view.data = bytes_.data() + file_->data_offset_ + tensor.offset;
    }
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(tensors.size());
    for (const TensorInfo& tensor : tensors) by_offset.push_back(&tensor);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo& before = *by_offset[i - 1];
      const TensorInfo& after = *by_offset[i];
      if (before.offset + before.bytes > after.offset) {
        return DataLoss(
            "gguf: tensors " + Quoted(before.name) + " (data offsets " +
            std::to_string(before.offset) + " to " + std::to_string(before.offset + before.bytes) +
            ") and " + Quoted(after.name) + " (from " + std::to_string(after.offset) + ") overlap");
      }
    }
    return Status::Ok();
  }

  std::span<const uint8_t> bytes_;
  File* file_;
  uint64_t pos_ = 0;
  uint64_t kv_count_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t nested_values_ = 0;
};

Result<File> File::Parse(std::span<const uint8_t> bytes) {
  File file;
  file.bytes_ = bytes;
  Parser parser(bytes, &file);
  RETURN_IF_ERROR(parser.Run());
  return file;
}

Result<File> File::Open(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile mapping, MappedFile::Open(path));
  Result<File> file = Parse(mapping.bytes());
  if (!file.ok()) {  // "gguf: '/path/model.gguf': bad magic ..."
    const std::string& message = file.status().message();
    return Status(file.status().code(),
                  "gguf: '" + path + "': " + message.substr(message.find(' ') + 1));
  }
  file->mapping_ = std::move(mapping);  // the views keep pointing into the same pages
  return std::move(file).value();
}

Result<File> File::Compose(std::vector<uint8_t> header, std::vector<ComposedTensor> tensors,
                           std::shared_ptr<const void> owner) {
  File file;
  file.owned_header_ = std::move(header);  // the metadata views point into this buffer
  file.bytes_ = file.owned_header_;
  Parser parser(file.bytes_, &file);
  RETURN_IF_ERROR(parser.Run());
  if (!file.tensors_.empty()) return InvalidArgument("gguf: a composed header holds tensors");
  file.owned_names_.reserve(tensors.size());  // no reallocation: the names are viewed
  file.tensors_.reserve(tensors.size());
  for (ComposedTensor& tensor : tensors) {
    if (tensor.name.empty() || tensor.name.size() > kMaxNameBytes || tensor.view.data == nullptr) {
      return InvalidArgument("gguf: composed tensor " + Quoted(tensor.name) + " is invalid");
    }
    file.owned_names_.push_back(std::move(tensor.name));
    TensorInfo info;
    info.name = file.owned_names_.back();
    info.view = tensor.view;
    // An MLX weight's scales (and biases) are part of what it occupies (the memory plan).
    const int64_t group_bytes =
        IsMlx(tensor.view.dtype)
            ? tensor.view.rows() * tensor.view.scale_row_bytes() *
                  (tensor.view.groups.biases != nullptr ? 2 : 1)
            : 0;
    info.bytes = static_cast<uint64_t>(tensor.view.bytes() + group_bytes);
    const auto [it, inserted] = file.tensor_index_.emplace(info.name, file.tensors_.size());
    if (!inserted) return InvalidArgument("gguf: duplicate composed tensor " + Quoted(info.name));
    file.tensors_.push_back(info);
  }
  file.owner_ = std::move(owner);
  return file;
}

}  // namespace snug::gguf
