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
    {DType::kQ2_K, "q2_k", 256, 84},  {DType::kQ3_K, "q3_k", 256, 110},
    {DType::kIQ4_NL, "iq4_nl", 32, 18}, {DType::kIQ4_XS, "iq4_xs", 256, 136},
    {DType::kMlxQ2, "mlx_q2", 32, 8},      {DType::kMlxQ3, "mlx_q3", 32, 12},
    {DType::kMlxQ4, "mlx_q4", 32, 16},     {DType::kMlxQ5, "mlx_q5", 32, 20},
    {DType::kMlxQ6, "mlx_q6", 32, 24},     {DType::kMlxQ8, "mlx_q8", 32, 32},
    {DType::kMlxMXFP4, "mlx_mxfp4", 32, 16},
    // Listed only (no kernels): block sizes from ggml's type_traits / ggml-common.h's
    // static_asserts (QK_K = 256), so a file holding them parses and `snug inspect` shows it.
    {DType::kIQ2_XXS, "iq2_xxs", 256, 66, false}, {DType::kIQ2_XS, "iq2_xs", 256, 74, false},
    {DType::kIQ2_S, "iq2_s", 256, 82, false},     {DType::kIQ3_XXS, "iq3_xxs", 256, 98, false},
    {DType::kIQ3_S, "iq3_s", 256, 110, false},    {DType::kIQ1_S, "iq1_s", 256, 50, false},
    {DType::kIQ1_M, "iq1_m", 256, 56, false},     {DType::kTQ1_0, "tq1_0", 256, 54, false},
    {DType::kTQ2_0, "tq2_0", 256, 66, false},     {DType::kI8, "i8", 1, 1, false},
    {DType::kI16, "i16", 1, 2, false},            {DType::kI32, "i32", 1, 4, false},
    {DType::kI64, "i64", 1, 8, false},            {DType::kF64, "f64", 1, 8, false},
};

constexpr uint32_t kFirstMlxId = 0x1000;

const DTypeInfo* FindAny(uint32_t type_id) {
  for (const DTypeInfo& info : kDTypes) {
    if (static_cast<uint32_t>(info.dtype) == type_id) return &info;
  }
  return nullptr;
}

}  // namespace

const DTypeInfo* AllDTypes(int* count) {
  *count = static_cast<int>(std::size(kDTypes));
  return kDTypes;
}

const DTypeInfo* FindDType(uint32_t type_id) {
  return type_id < kFirstMlxId ? FindAny(type_id) : nullptr;
}

const DTypeInfo& Info(DType dtype) {
  const DTypeInfo* info = FindAny(static_cast<uint32_t>(dtype));
  CHECK(info != nullptr) << "unknown dtype " << static_cast<uint32_t>(dtype);
  return *info;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == lower && info.runs) return info.dtype;
  }
  return std::nullopt;
}

bool IsMlx(DType dtype) { return static_cast<uint32_t>(dtype) >= kFirstMlxId; }

int MlxBits(DType dtype) {
  return IsMlx(dtype) ? static_cast<int>(static_cast<uint32_t>(dtype) & 0xFF) : 0;
}

std::optional<DType> MlxAffineType(int bits) {
  switch (bits) {
    case 2: return DType::kMlxQ2;
    case 3: return DType::kMlxQ3;
    case 4: return DType::kMlxQ4;
    case 5: return DType::kMlxQ5;
    case 6: return DType::kMlxQ6;
    case 8: return DType::kMlxQ8;
    default: return std::nullopt;
  }
}

int64_t RowBytes(DType dtype, int64_t elements) {
  const DTypeInfo& info = Info(dtype);
  DCHECK(elements % info.block_elements == 0);
  return elements / info.block_elements * info.block_bytes;
}

}  // namespace snug
