// f32 → the MLX types (synthetic MLX checkpoints): the packed codes and the separate per-group
// scales (and biases) a checkpoint stores as `<name>.weight`, `.scales`, `.biases`.
// Affine follows MLX's affine_quantize (mlx/ops.cpp); mxfp4 picks the E8M0 exponent as the
// ggml MXFP4 quantizer does (quantize.cc). specs/models.md §1.3 is the layout.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/kernels.h"
#include "kernels/quantize_internal.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

using internal::NearestE2M1;

// Writes `code` into bits [i·bits, (i+1)·bits) of a row's little-endian bit stream.
void PutCode(uint8_t* row, int64_t i, int bits, int code) {
  for (int k = 0; k < bits; ++k) {
    const int64_t bit = i * bits + k;
    if ((code >> k) & 1) row[bit / 8] = static_cast<uint8_t>(row[bit / 8] | (1u << (bit % 8)));
  }
}

// Stores `value` as element `index` of a bf16/f16/f32 array; returns the value as stored.
float PutGroupValue(DType dtype, void* array, int64_t index, float value) {
  if (dtype == DType::kF32) {
    std::memcpy(static_cast<uint8_t*>(array) + 4 * index, &value, 4);
    return value;
  }
  const uint16_t half = dtype == DType::kF16 ? F32ToF16(value) : F32ToBf16(value);
  std::memcpy(static_cast<uint8_t*>(array) + 2 * index, &half, 2);
  return dtype == DType::kF16 ? F16ToF32(half) : Bf16ToF32(half);
}

int NearestCode(float v, int hi) {
  if (!(v >= 0.0f)) return 0;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::nearbyint(v));
}

// One group of an affine row. MLX: the extreme of larger magnitude is the bias and sits
// exactly on the grid; the scale is signed so codes stay in [0, 2^bits − 1]. Codes are rounded
// against the scale and bias as stored (bf16/f16), which is what every reader sees.
void QuantizeAffineGroup(const float* x, int64_t group_size, int bits, DType scale_dtype,
                         uint8_t* row, int64_t first, void* scales, void* biases, int64_t g) {
  const int levels = (1 << bits) - 1;
  const auto [min_it, max_it] = std::minmax_element(x, x + group_size);
  const float w_min = *min_it, w_max = *max_it;
  const bool min_is_edge = std::fabs(w_min) > std::fabs(w_max);
  float scale = std::max((w_max - w_min) / static_cast<float>(levels), 1e-7f);
  if (!min_is_edge) scale = -scale;
  const float edge = min_is_edge ? w_min : w_max;
  const float q0 = std::nearbyint(edge / scale);
  if (q0 != 0.0f) scale = edge / q0;
  const float bias = q0 == 0.0f ? 0.0f : edge;
  const float stored_scale = PutGroupValue(scale_dtype, scales, g, scale);
  const float stored_bias = PutGroupValue(scale_dtype, biases, g, bias);
  for (int64_t j = 0; j < group_size; ++j) {
    const float q = stored_scale != 0.0f ? (x[j] - stored_bias) / stored_scale : 0.0f;
    PutCode(row, first + j, bits, NearestCode(q, levels));
  }
}

void QuantizeMxfp4Group(const float* x, uint8_t* row, int64_t first, uint8_t* scale) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  // The largest magnitude lands in [8, 16)·2^(e−128): the top of the doubled grid or above.
  int e = 0;
  if (amax > 0.0f && std::isfinite(amax)) {
    e = std::clamp(static_cast<int>(std::floor(std::log2(amax))) - 2 + 127, 0, 255);
  }
  *scale = static_cast<uint8_t>(e);
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  float d;
  std::memcpy(&d, &bits, sizeof(d));
  for (int j = 0; j < kQK; ++j) PutCode(row, first + j, 4, NearestE2M1(x[j], d));
}

}  // namespace

int64_t MlxScaleBytes(DType type, DType scale_dtype, int64_t rows, int64_t cols,
                      int64_t group_size) {
  const int64_t count = rows * (cols / group_size);
  return type == DType::kMlxMXFP4 ? count : RowBytes(scale_dtype, count);
}

void QuantizeMlx(DType type, int64_t group_size, DType scale_dtype, const float* src,
                 int64_t rows, int64_t cols, void* weight, void* scales, void* biases) {
  CHECK(IsMlx(type)) << "QuantizeMlx: " << Name(type) << " is not an MLX type";
  const bool mxfp4 = type == DType::kMlxMXFP4;
  CHECK(mxfp4 ? group_size == 32 : (group_size == 32 || group_size == 64 || group_size == 128))
      << "QuantizeMlx " << Name(type) << ": group size " << group_size;
  CHECK(mxfp4 || scale_dtype == DType::kBF16 || scale_dtype == DType::kF16 ||
        scale_dtype == DType::kF32)
      << "QuantizeMlx: scales of type " << Name(scale_dtype);
  CHECK(cols % group_size == 0) << "QuantizeMlx: " << cols << " columns, group " << group_size;
  const int bits = MlxBits(type);
  const int64_t row_bytes = RowBytes(type, cols);
  const int64_t groups_per_row = cols / group_size;
  std::memset(weight, 0, static_cast<size_t>(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = static_cast<uint8_t*>(weight) + r * row_bytes;
    for (int64_t k = 0; k < groups_per_row; ++k) {
      const float* x = src + r * cols + k * group_size;
      const int64_t g = r * groups_per_row + k;
      if (mxfp4) {
        QuantizeMxfp4Group(x, row, k * group_size, static_cast<uint8_t*>(scales) + g);
      } else {
        QuantizeAffineGroup(x, group_size, bits, scale_dtype, row, k * group_size, scales, biases,
                            g);
      }
    }
  }
}

}  // namespace snug::kernels
