// Element types of weights and activations, numbered as ggml numbers them (the GGUF type ids),
// with the size of one block: quantized types store `block_elements` values in `block_bytes`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace snug {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
  kMXFP4 = 39,
};

struct DTypeInfo {
  DType dtype;
  std::string_view name;  // as llama.cpp prints it: "q4_0", "f16", "mxfp4"
  int block_elements;     // 1 for plain floats
  int block_bytes;
};

// Every type snug can read; the order is the order of `snug inspect` totals.
const DTypeInfo* AllDTypes(int* count);

// nullptr for ids snug does not know (a GGUF with such a tensor is refused with its id).
const DTypeInfo* FindDType(uint32_t type_id);
const DTypeInfo& Info(DType dtype);
std::optional<DType> DTypeFromName(std::string_view name);  // "q4_0", "Q4_0", "bf16", ...

inline std::string_view Name(DType dtype) { return Info(dtype).name; }

// Bytes of `elements` values; `elements` must be a multiple of the block size.
int64_t RowBytes(DType dtype, int64_t elements);

}  // namespace snug
