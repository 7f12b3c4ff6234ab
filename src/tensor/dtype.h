// Element types of weights and activations, numbered as ggml numbers them (the GGUF type ids),
// with the size of one block: quantized types store `block_elements` values in `block_bytes`.
// The MLX types (safetensors checkpoints, specs/models.md §1.3) have ids of their own above
// every ggml id: only their packed codes are the tensor's bytes; the per-group scales (and
// biases) are other tensors, which TensorView::groups points to.
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
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,  // ggml types from here to kTQ2_0 are only listed (see DTypeInfo::runs)
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  // MLX affine quantization, `bits` per code in a little-endian bit stream per row; a block is
  // 32 codes (4·bits bytes), the smallest MLX group. w = scale[g]·q + bias[g].
  kMlxQ2 = 0x1002,
  kMlxQ3 = 0x1003,
  kMlxQ4 = 0x1004,
  kMlxQ5 = 0x1005,
  kMlxQ6 = 0x1006,
  kMlxQ8 = 0x1008,
  // MLX "mxfp4": E2M1 codes, element 2i in the low nibble of byte i; u8 E8M0 scales per 32.
  kMlxMXFP4 = 0x1104,
};

struct DTypeInfo {
  DType dtype;
  std::string_view name;  // as llama.cpp prints it: "q4_0", "f16", "mxfp4"
  int block_elements;     // 1 for plain floats
  int block_bytes;
  // False for ggml types whose layout snug knows (so `snug inspect` lists a file holding them)
  // but has no kernels for: loading such a file is refused, naming the tensor and its type.
  bool runs = true;
};

// Every type snug can read; the order is the order of `snug inspect` totals.
const DTypeInfo* AllDTypes(int* count);

// The GGUF type with this id (runnable or listed only); nullptr for ids snug does not know (a GGUF
// with such a tensor is refused with its id) and for the MLX types, which no GGUF file holds.
const DTypeInfo* FindDType(uint32_t type_id);
const DTypeInfo& Info(DType dtype);
// "q4_0", "Q4_0", "bf16", ...: the types that run (a listed-only type is nothing to ask for).
std::optional<DType> DTypeFromName(std::string_view name);

inline std::string_view Name(DType dtype) { return Info(dtype).name; }

// MLX types: codes live apart from their per-group scales (TensorView::groups).
bool IsMlx(DType dtype);
// Bits per code of an MLX type (mxfp4: 4); 0 for the others.
int MlxBits(DType dtype);
// The MLX affine type of `bits` (2, 3, 4, 5, 6, 8), or nullopt.
std::optional<DType> MlxAffineType(int bits);

// Bytes of `elements` values; `elements` must be a multiple of the block size.
int64_t RowBytes(DType dtype, int64_t elements);

}  // namespace snug
