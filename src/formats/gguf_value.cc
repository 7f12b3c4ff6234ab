// GGUF metadata values: type names and sizes, array element access, and the File's lookups and
// typed getters. Parsing lives in gguf_reader.cc.
#include <cstring>
#include <limits>
#include <string>

#include "base/check.h"
#include "formats/gguf.h"

namespace snug::gguf {
namespace {

template <class T>
T Load(std::span<const uint8_t> raw, uint64_t i) {
  T value;
  std::memcpy(&value, raw.data() + i * sizeof(T), sizeof(T));
  return value;
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kU8:
      return "u8";
    case ValueType::kI8:
      return "i8";
    case ValueType::kU16:
      return "u16";
    case ValueType::kI16:
      return "i16";
    case ValueType::kU32:
      return "u32";
    case ValueType::kI32:
      return "i32";
    case ValueType::kF32:
      return "f32";
    case ValueType::kBool:
      return "bool";
    case ValueType::kString:
      return "string";
    case ValueType::kArray:
      return "array";
    case ValueType::kU64:
      return "u64";
    case ValueType::kI64:
      return "i64";
    case ValueType::kF64:
      return "f64";
  }
  return "unknown";
}

size_t ValueTypeSize(ValueType type) {
  switch (type) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kBool:
      return 1;
    case ValueType::kU16:
    case ValueType::kI16:
      return 2;
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kF32:
      return 4;
    case ValueType::kU64:
    case ValueType::kI64:
    case ValueType::kF64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kU16:
    case ValueType::kI16:
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kU64:
    case ValueType::kI64:
      return true;
    default:
      return false;
  }
}

bool Array::is_numeric() const { return ValueTypeSize(element_type) != 0; }

uint64_t Array::U64At(uint64_t i) const {
  CHECK_LT(i, count);
  switch (element_type) {
    case ValueType::kU8:
    case ValueType::kBool:
      return Load<uint8_t>(raw, i);
    case ValueType::kU16:
      return Load<uint16_t>(raw, i);
    case ValueType::kU32:
      return Load<uint32_t>(raw, i);
    case ValueType::kU64:
      return Load<uint64_t>(raw, i);
    default:
      break;
  }
  CHECK(false) << "U64At on a " << ValueTypeName(element_type) << " array";
  return 0;
}

int64_t Array::IntAt(uint64_t i) const {
  CHECK_LT(i, count);
  switch (element_type) {
    case ValueType::kI8:
      return Load<int8_t>(raw, i);
    case ValueType::kI16:
      return Load<int16_t>(raw, i);
    case ValueType::kI32:
      return Load<int32_t>(raw, i);
    case ValueType::kI64:
      return Load<int64_t>(raw, i);
    case ValueType::kU8:
    case ValueType::kBool:
    case ValueType::kU16:
    case ValueType::kU32:
    case ValueType::kU64: {
      const uint64_t value = U64At(i);
      CHECK(value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          << "element " << i << " = " << value << " does not fit int64";
      return static_cast<int64_t>(value);
    }
    default:
      break;
  }
  CHECK(false) << "IntAt on a " << ValueTypeName(element_type) << " array";
  return 0;
}

double Array::FloatAt(uint64_t i) const {
  CHECK_LT(i, count);
  switch (element_type) {
    case ValueType::kF32:
      return Load<float>(raw, i);
    case ValueType::kF64:
      return Load<double>(raw, i);
    case ValueType::kU8:
    case ValueType::kU16:
    case ValueType::kU32:
    case ValueType::kU64:
      return static_cast<double>(U64At(i));
    case ValueType::kBool:
      break;
    default:
      if (is_numeric()) return static_cast<double>(IntAt(i));
  }
  CHECK(false) << "FloatAt on a " << ValueTypeName(element_type) << " array";
  return 0;
}

bool Array::BoolAt(uint64_t i) const {
  CHECK(element_type == ValueType::kBool)
      << "BoolAt on a " << ValueTypeName(element_type) << " array";
  CHECK_LT(i, count);
  return raw[i] != 0;
}

std::string_view Array::StringAt(uint64_t i) const {
  CHECK(element_type == ValueType::kString)
      << "StringAt on a " << ValueTypeName(element_type) << " array";
  CHECK_LT(i, strings.size());
  return strings[i];
}

const Value* File::Find(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* File::FindTensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Status Missing(std::string_view key) {
  return NotFound("gguf: key '" + std::string(key) + "' is missing");
}

Status WrongType(std::string_view key, const Value& value, std::string_view expected) {
  return InvalidArgument("gguf: key '" + std::string(key) + "' has type " +
                         std::string(ValueTypeName(value.type)) + ", expected " +
                         std::string(expected));
}

}  // namespace

Result<int64_t> File::GetInt(std::string_view key) const {
  const Value* value = Find(key);
  if (value == nullptr) return Missing(key);
  if (!value->is_integer()) return WrongType(key, *value, "an integer");
  switch (value->type) {
    case ValueType::kI8:
    case ValueType::kI16:
    case ValueType::kI32:
    case ValueType::kI64:
      return value->i;
    default:
      if (value->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return OutOfRange("gguf: key '" + std::string(key) + "' = " + std::to_string(value->u) +
                          " does not fit a signed 64-bit integer");
      }
      return static_cast<int64_t>(value->u);
  }
}

Result<double> File::GetFloat(std::string_view key) const {
  const Value* value = Find(key);
  if (value == nullptr) return Missing(key);
  if (value->is_float()) return value->f;
  if (value->is_integer()) {
    ASSIGN_OR_RETURN(const int64_t integer, GetInt(key));
    return static_cast<double>(integer);
  }
  return WrongType(key, *value, "a number");
}

Result<bool> File::GetBool(std::string_view key) const {
  const Value* value = Find(key);
  if (value == nullptr) return Missing(key);
  if (value->type != ValueType::kBool) return WrongType(key, *value, "bool");
  return value->u != 0;
}

Result<std::string_view> File::GetString(std::string_view key) const {
  const Value* value = Find(key);
  if (value == nullptr) return Missing(key);
  if (value->type != ValueType::kString) return WrongType(key, *value, "string");
  return value->s;
}

Result<const Array*> File::GetArray(std::string_view key) const {
  const Value* value = Find(key);
  if (value == nullptr) return Missing(key);
  if (value->type != ValueType::kArray) return WrongType(key, *value, "array");
  return &value->array;
}

std::string_view File::architecture() const {
  const Value* value = Find("general.architecture");
  return value != nullptr && value->type == ValueType::kString ? value->s : std::string_view();
}

}  // namespace snug::gguf
