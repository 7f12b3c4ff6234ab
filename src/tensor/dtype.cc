#include "tensor/dtype.h"

#include <cctype>
#include <string>

#include "base/check.h"

namespace snug {
namespace {

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "f32", 1, 4},       {DType::kF16, "f16", 1, 2},
    {DType::kBF16, "bf16", 1, 2},     {DType::kQ8_0, "q8_0", 32, 34},
    {DType::kQ8_1, "q8_1", 32, 36},   {DType::kQ4_0, "q4_0", 32, 18},
    {DType::kQ4_1, "q4_1", 32, 20},   {DType::kQ5_0, "q5_0", 32, 22},
    {DType::kQ5_1, "q5_1", 32, 24},   {DType::kQ4_K, "q4_k", 256, 144},
    {DType::kQ5_K, "q5_k", 256, 176}, {DType::kQ6_K, "q6_k", 256, 210},
    {DType::kQ8_K, "q8_k", 256, 292}, {DType::kMXFP4, "mxfp4", 32, 17},
};

}  // namespace

const DTypeInfo* AllDTypes(int* count) {
  *count = static_cast<int>(std::size(kDTypes));
  return kDTypes;
}

const DTypeInfo* FindDType(uint32_t type_id) {
  for (const DTypeInfo& info : kDTypes) {
    if (static_cast<uint32_t>(info.dtype) == type_id) return &info;
  }
  return nullptr;
}

const DTypeInfo& Info(DType dtype) {
  const DTypeInfo* info = FindDType(static_cast<uint32_t>(dtype));
  CHECK(info != nullptr) << "unknown dtype " << static_cast<uint32_t>(dtype);
  return *info;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == lower) return info.dtype;
  }
  return std::nullopt;
}

int64_t RowBytes(DType dtype, int64_t elements) {
  const DTypeInfo& info = Info(dtype);
  DCHECK(elements % info.block_elements == 0);
  return elements / info.block_elements * info.block_bytes;
}

}  // namespace snug
