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

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  int num_dims = 0;
  std::array<int64_t, kMaxDims> shape{};  // outermost first; only num_dims entries are used

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
  // The 2-D slice [index] of a 3-D tensor (an expert's matrix in a stacked MoE weight).
  TensorView Slice(int64_t index) const {
    CHECK(num_dims == 3 && index >= 0 && index < shape[0]);
    TensorView slice{data, dtype, 2, {shape[1], shape[2], 0, 0}};
    slice.data = static_cast<const uint8_t*>(data) + index * slice.bytes();
    return slice;
  }
};

// "[4096, 2880]"
std::string ShapeString(const TensorView& view);

}  // namespace snug
