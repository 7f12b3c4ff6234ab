// A non-owning view of a tensor: typed bytes somewhere (a mapped file, an arena) and a shape.
// Shapes are written outermost-first, as PyTorch and safetensors do: a weight applied as
// y = W·x has shape [rows = outputs, cols = inputs], and rows are contiguous. (GGUF lists
// dimensions innermost-first; the reader reverses them.)
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/check.h"
#include "tensor/dtype.h"

namespace snug {

inline constexpr int kMaxDims = 4;

// Where the per-group parameters of an MLX-quantized weight live: `<name>.scales` and
// `<name>.biases` are tensors of their own in the checkpoint, mapped where they lie (no copy,
// no requantization). Row r of the weight has its cols / group_size scales at
// scales + r · scale_row_bytes() (biases likewise). Unused (null) for every other type.
struct GroupParams {
  const void* scales = nullptr;  // [rows, cols / group_size] of scale_dtype
  const void* biases = nullptr;  // same shape and type; affine only (null for mxfp4)
  DType scale_dtype = DType::kBF16;  // affine: kBF16, kF16 or kF32; mxfp4: u8 E8M0 (ignored)
  int64_t group_size = 0;            // 32, 64 or 128 (mxfp4: 32)
};

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  int num_dims = 0;
  std::array<int64_t, kMaxDims> shape{};  // outermost first; only num_dims entries are used
  GroupParams groups;                     // MLX types only (tensor/dtype.h IsMlx)

  int64_t cols() const { return num_dims == 0 ? 1 : shape[num_dims - 1]; }
  int64_t rows() const {  // product of every dimension but the innermost
    int64_t rows = 1;
    for (int i = 0; i + 1 < num_dims; ++i) rows *= shape[i];
    return rows;
  }
  int64_t elements() const { return rows() * cols(); }
  int64_t row_bytes() const { return RowBytes(dtype, cols()); }
  int64_t bytes() const { return rows() * row_bytes(); }
  const uint8_t* row(int64_t index) const {
    DCHECK(index >= 0 && index < rows());
    return static_cast<const uint8_t*>(data) + index * row_bytes();
  }
  // Bytes of one row's scales (or biases): cols / group_size values; E8M0 bytes for mxfp4.
  int64_t scale_row_bytes() const {
    const int64_t count = groups.group_size > 0 ? cols() / groups.group_size : 0;
    return dtype == DType::kMlxMXFP4 ? count : RowBytes(groups.scale_dtype, count);
  }
  const uint8_t* scale_row(int64_t index) const {
    return static_cast<const uint8_t*>(groups.scales) + index * scale_row_bytes();
  }
  const uint8_t* bias_row(int64_t index) const {
    return static_cast<const uint8_t*>(groups.biases) + index * scale_row_bytes();
  }
  // The 2-D slice [index] of a 3-D tensor (an expert's matrix in a stacked MoE weight); the
  // group parameters are sliced alike.
  TensorView Slice(int64_t index) const {
    CHECK(num_dims == 3 && index >= 0 && index < shape[0]);
    TensorView slice{data, dtype, 2, {shape[1], shape[2], 0, 0}, groups};
    slice.data = static_cast<const uint8_t*>(data) + index * slice.bytes();
    if (groups.scales != nullptr) {
      slice.groups.scales = slice.scale_row(index * shape[1]);
    }
    if (groups.biases != nullptr) {
      slice.groups.biases = slice.bias_row(index * shape[1]);
    }
    return slice;
  }
};

// "[4096, 2880]"
std::string ShapeString(const TensorView& view);

}  // namespace snug
