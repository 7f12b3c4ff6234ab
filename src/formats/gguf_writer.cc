// Writes GGUF v3: header, metadata and tensor infos are built in memory (small), then each
// tensor's bytes are produced by its Fill callback into one reused buffer and streamed out, so a
// multi-GB model needs only its largest tensor in memory. The layout mirrors what the reader
// accepts: tensors in insertion order at aligned offsets, zero padding between them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "base/check.h"
#include "formats/gguf.h"

namespace snug::gguf {
namespace {

constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr size_t kMaxNameBytes = 63;
constexpr std::string_view kAlignmentKey = "general.alignment";

template <class T>
void Append(std::vector<uint8_t>* out, T value) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  out->insert(out->end(), bytes, bytes + sizeof(T));
}

void AppendString(std::vector<uint8_t>* out, std::string_view text) {
  Append<uint64_t>(out, text.size());
  out->insert(out->end(), text.begin(), text.end());
}

// The value's bytes after its type id (an array writes its element type and count).
void AppendValue(std::vector<uint8_t>* out, const Value& value) {
  switch (value.type) {
    case ValueType::kU8:
      Append<uint8_t>(out, static_cast<uint8_t>(value.u));
      break;
    case ValueType::kU16:
      Append<uint16_t>(out, static_cast<uint16_t>(value.u));
      break;
    case ValueType::kU32:
      Append<uint32_t>(out, static_cast<uint32_t>(value.u));
      break;
    case ValueType::kU64:
      Append<uint64_t>(out, value.u);
      break;
    case ValueType::kBool:
      Append<uint8_t>(out, value.u != 0 ? 1 : 0);
      break;
    case ValueType::kI8:
      Append<int8_t>(out, static_cast<int8_t>(value.i));
      break;
    case ValueType::kI16:
      Append<int16_t>(out, static_cast<int16_t>(value.i));
      break;
    case ValueType::kI32:
      Append<int32_t>(out, static_cast<int32_t>(value.i));
      break;
    case ValueType::kI64:
      Append<int64_t>(out, value.i);
      break;
    case ValueType::kF32:
      Append<float>(out, static_cast<float>(value.f));
      break;
    case ValueType::kF64:
      Append<double>(out, value.f);
      break;
    case ValueType::kString:
      AppendString(out, value.s);
      break;
    case ValueType::kArray: {
      const Array& array = value.array;
      Append<uint32_t>(out, static_cast<uint32_t>(array.element_type));
      Append<uint64_t>(out, array.count);
      if (array.is_numeric()) {
        CHECK_EQ(array.raw.size(), array.count * ValueTypeSize(array.element_type));
        out->insert(out->end(), array.raw.begin(), array.raw.end());
      } else if (array.element_type == ValueType::kString) {
        CHECK_EQ(array.strings.size(), array.count);
        for (std::string_view text : array.strings) AppendString(out, text);
      } else {
        CHECK_EQ(array.items.size(), array.count);
        for (const Value& item : array.items) {
          CHECK(item.type == ValueType::kArray) << "array items must be arrays";
          AppendValue(out, item);
        }
      }
      break;
    }
  }
}

std::vector<uint8_t> Encode(const Value& value) {
  std::vector<uint8_t> out;
  Append<uint32_t>(&out, static_cast<uint32_t>(value.type));
  AppendValue(&out, value);
  return out;
}

template <class T>
std::vector<uint8_t> EncodeArray(ValueType type, const std::vector<T>& values) {
  std::vector<uint8_t> out;
  Append<uint32_t>(&out, static_cast<uint32_t>(ValueType::kArray));
  Append<uint32_t>(&out, static_cast<uint32_t>(type));
  Append<uint64_t>(&out, values.size());
  for (const T& value : values) Append<T>(&out, value);
  return out;
}

Value Unsigned(ValueType type, uint64_t u) {
  Value value;
  value.type = type;
  value.u = u;
  return value;
}

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

void Writer::SetEncoded(std::string_view key, std::vector<uint8_t> encoded) {
  CHECK(!key.empty()) << "empty metadata key";
  for (auto& [existing, bytes] : metadata_) {
    if (existing == key) {
      bytes = std::move(encoded);
      return;
    }
  }
  metadata_.emplace_back(std::string(key), std::move(encoded));
}

void Writer::SetAlignment(uint32_t alignment) {
  CHECK(std::has_single_bit(alignment) && alignment <= (1u << 20))
      << "alignment " << alignment << " is not a power of two up to 2^20";
  alignment_ = alignment;
  std::erase_if(metadata_, [](const auto& entry) { return entry.first == kAlignmentKey; });
  if (alignment != kDefaultAlignment) {
    SetEncoded(kAlignmentKey, Encode(Unsigned(ValueType::kU32, alignment)));
  }
}

void Writer::SetU32(std::string_view key, uint32_t value) {
  if (key == kAlignmentKey) return SetAlignment(value);
  SetEncoded(key, Encode(Unsigned(ValueType::kU32, value)));
}
void Writer::SetI32(std::string_view key, int32_t value) {
  Value encoded;
  encoded.type = ValueType::kI32;
  encoded.i = value;
  SetEncoded(key, Encode(encoded));
}
void Writer::SetU64(std::string_view key, uint64_t value) {
  SetEncoded(key, Encode(Unsigned(ValueType::kU64, value)));
}
void Writer::SetF32(std::string_view key, float value) {
  Value encoded;
  encoded.type = ValueType::kF32;
  encoded.f = value;
  SetEncoded(key, Encode(encoded));
}
void Writer::SetBool(std::string_view key, bool value) {
  SetEncoded(key, Encode(Unsigned(ValueType::kBool, value ? 1 : 0)));
}
void Writer::SetString(std::string_view key, std::string_view value) {
  Value encoded;
  encoded.type = ValueType::kString;
  encoded.s = value;
  SetEncoded(key, Encode(encoded));
}
void Writer::SetStringArray(std::string_view key, const std::vector<std::string>& values) {
  std::vector<uint8_t> out;
  Append<uint32_t>(&out, static_cast<uint32_t>(ValueType::kArray));
  Append<uint32_t>(&out, static_cast<uint32_t>(ValueType::kString));
  Append<uint64_t>(&out, values.size());
  for (const std::string& value : values) AppendString(&out, value);
  SetEncoded(key, std::move(out));
}
void Writer::SetI32Array(std::string_view key, const std::vector<int32_t>& values) {
  SetEncoded(key, EncodeArray(ValueType::kI32, values));
}
void Writer::SetU32Array(std::string_view key, const std::vector<uint32_t>& values) {
  SetEncoded(key, EncodeArray(ValueType::kU32, values));
}
void Writer::SetF32Array(std::string_view key, const std::vector<float>& values) {
  SetEncoded(key, EncodeArray(ValueType::kF32, values));
}
void Writer::SetBoolArray(std::string_view key, const std::vector<bool>& values) {
  std::vector<uint8_t> bytes(values.begin(), values.end());
  SetEncoded(key, EncodeArray(ValueType::kBool, bytes));
}
void Writer::SetValue(std::string_view key, const Value& value) {
  if (key == kAlignmentKey) {
    CHECK(value.type == ValueType::kU32) << "general.alignment must be u32";
    return SetAlignment(static_cast<uint32_t>(value.u));
  }
  SetEncoded(key, Encode(value));
}

void Writer::AddTensor(std::string_view name, DType type, std::vector<int64_t> shape, Fill fill) {
  CHECK(!name.empty() && name.size() <= kMaxNameBytes)
      << "tensor name '" << name << "' must be 1 to " << kMaxNameBytes << " bytes";
  CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(kMaxDims))
      << "tensor '" << name << "' has " << shape.size() << " dimensions";
  for (int64_t dim : shape) CHECK(dim >= 1) << "tensor '" << name << "' has a dimension " << dim;
  CHECK(shape.back() % Info(type).block_elements == 0)
      << "tensor '" << name << "': " << shape.back() << " columns are not a multiple of the "
      << Name(type) << " block";
  for (const PendingTensor& tensor : tensors_) {
    CHECK(tensor.name != name) << "tensor '" << name << "' added twice";
  }
  tensors_.push_back({std::string(name), type, std::move(shape), std::move(fill)});
}

Status Writer::Emit(const Sink& sink) const {
  std::vector<uint8_t> header;
  Append<uint32_t>(&header, 0x46554747);  // "GGUF"
  Append<uint32_t>(&header, kVersion);
  Append<uint64_t>(&header, tensors_.size());
  Append<uint64_t>(&header, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    AppendString(&header, key);
    header.insert(header.end(), value.begin(), value.end());
  }
  std::vector<uint64_t> bytes;  // per tensor
  uint64_t offset = 0;
  for (const PendingTensor& tensor : tensors_) {
    TensorView view{nullptr, tensor.type, static_cast<int>(tensor.shape.size()), {}};
    std::copy(tensor.shape.begin(), tensor.shape.end(), view.shape.begin());
    bytes.push_back(static_cast<uint64_t>(view.bytes()));
    offset = AlignUp(offset, alignment_);
    AppendString(&header, tensor.name);
    Append<uint32_t>(&header, static_cast<uint32_t>(tensor.shape.size()));
    for (auto dim = tensor.shape.rbegin(); dim != tensor.shape.rend(); ++dim) {
      Append<uint64_t>(&header, static_cast<uint64_t>(*dim));  // GGUF: innermost first
    }
    Append<uint32_t>(&header, static_cast<uint32_t>(tensor.type));
    Append<uint64_t>(&header, offset);
    offset += bytes.back();
  }
  header.resize(AlignUp(header.size(), alignment_), 0);
  RETURN_IF_ERROR(sink(header));

  const std::vector<uint8_t> zeros(alignment_, 0);
  std::vector<uint8_t> buffer;  // grows to the largest tensor, reused
  uint64_t written = 0;
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const uint64_t padding = AlignUp(written, alignment_) - written;
    if (padding > 0) RETURN_IF_ERROR(sink(std::span(zeros).first(padding)));
    written += padding;
    buffer.assign(bytes[t], 0);
    tensors_[t].fill(buffer);
    RETURN_IF_ERROR(sink(buffer));
    written += bytes[t];
  }
  return Status::Ok();
}

std::vector<uint8_t> Writer::WriteToMemory() const {
  std::vector<uint8_t> out;
  const Status status = Emit([&](std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  });
  CHECK(status.ok()) << status.ToString();
  return out;
}

Status Writer::Write(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return InvalidArgument("gguf: cannot create '" + path + "': " + std::strerror(errno));
  }
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  Status status = Emit([&](std::span<const uint8_t> bytes) -> Status {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return ResourceExhausted("gguf: cannot write '" + path +
                                 "': " + std::strerror(n < 0 ? errno : ENOSPC));
      }
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return Status::Ok();
  });
  if (::close(fd) != 0 && status.ok()) {
    status = ResourceExhausted("gguf: cannot write '" + path + "': " + std::strerror(errno));
  }
  // A partial model file would fail later with a confusing error: remove it (only if it is a
  // regular file: never unlink a device such as /dev/full).
  if (!status.ok() && regular) ::unlink(path.c_str());
  return status;
}

}  // namespace snug::gguf
