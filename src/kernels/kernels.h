// The kernel interface: plain functions over tensor views and f32 buffers. SIMD (Highway, with
// run-time dispatch to the best target of the machine) stays inside kernels/*.cc; every kernel
// has a scalar twin in namespace `reference` that the tests compare against.
// Shapes are outermost-first (tensor/tensor_view.h). Activations are f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/thread_pool.h"
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace snug::kernels {

// ---- Matrix products -----------------------------------------------------------------------

// Whether MatMul takes weights of this type: every type that runs (DTypeInfo::runs) but the
// activation formats Q8_1, Q8_K.
bool IsWeightType(DType type);

// Bytes of scratch MatMul needs (activations quantized on the fly to an 8-bit block format).
size_t MatMulScratchBytes(DType weight_type, int64_t cols, int64_t num_tokens);

// y[t, r] = Σ_c weight[r, c] · x[t, c], for t < num_tokens.
// weight: [rows, cols] of any weight type; x: [num_tokens, cols]; y: [num_tokens, rows].
// Multithreaded over output rows; `scratch` has at least MatMulScratchBytes(...) bytes.
void MatMul(const TensorView& weight, const float* x, int64_t num_tokens, float* y,
            std::span<std::byte> scratch, ThreadPool& pool);

// ---- Conversions ---------------------------------------------------------------------------

// Dequantizes `elements` values (a multiple of the block size) from `src` to f32. Not for the
// MLX types, whose rows need their group parameters: use the overload below.
void DequantizeRow(DType type, const void* src, float* dst, int64_t elements);
// Dequantizes row `row` of `weight` (cols values) to f32; any type, MLX included.
void DequantizeRow(const TensorView& weight, int64_t row, float* dst);

// Types the quantizer can write (F32, F16, BF16, Q8_0, Q4_0, MXFP4, and any others it supports).
bool CanQuantize(DType type);
// Quantizes rows × cols f32 values into `dst` (rows × RowBytes(type, cols) bytes).
void Quantize(DType type, const float* src, int64_t rows, int64_t cols, void* dst);

// MLX quantization (synthetic MLX checkpoints), the three arrays a checkpoint stores:
//   weight: rows × RowBytes(type, cols) bytes (MLX's uint32 array [rows, cols·bits/32]);
//   scales: rows × cols / group_size values of scale_dtype (mxfp4: u8 E8M0);
//   biases: the same as scales (affine; null for mxfp4).
// Affine follows MLX's quantizer (mlx/ops.cpp affine_quantize: the group's extreme of larger
// magnitude is the bias, exact at one end of the grid); group_size 32, 64 or 128 (mxfp4: 32);
// scale_dtype kBF16, kF16 or kF32.
void QuantizeMlx(DType type, int64_t group_size, DType scale_dtype, const float* src,
                 int64_t rows, int64_t cols, void* weight, void* scales, void* biases);
// Bytes of one of QuantizeMlx's scale (or bias) arrays.
int64_t MlxScaleBytes(DType type, DType scale_dtype, int64_t rows, int64_t cols,
                      int64_t group_size);

// ---- Element-wise and normalization (f32, in place allowed where x == y) ------------------

// y = x / sqrt(mean(x²) + eps) ⊙ weight; weight may be null (no scale).
void RmsNorm(const float* x, const float* weight, float eps, int64_t n, float* y);
// y = (x − mean(x)) / sqrt(var(x) + eps) ⊙ weight + bias (biased variance, as torch's
// nn.LayerNorm; the Gemma 4 unified vision embedder, specs/models.md §3.3).
void LayerNorm(const float* x, const float* weight, const float* bias, float eps, int64_t n,
               float* y);
// In place, numerically stable (subtracts the max).
void Softmax(float* x, int64_t n);
void GeluTanh(const float* x, float* y, int64_t n);
void Silu(const float* x, float* y, int64_t n);
void Add(const float* a, const float* b, float* y, int64_t n);
void Mul(const float* a, const float* b, float* y, int64_t n);
void Scale(const float* x, float factor, float* y, int64_t n);

// Rotary embedding of one token's heads, x: [num_heads, head_dim], in place. cos/sin hold
// rotary_dims/2 values for this position. NEOX/rotate-half pairs (i, i + rotary_dims/2);
// Interleaved pairs (2i, 2i+1). Dimensions past rotary_dims are left as they are.
void RopeNeox(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
              const float* sin);
void RopeInterleaved(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
                     const float* sin);

// ---- Scalar twins (the reference every SIMD kernel is tested against) ---------------------

namespace reference {
void DequantizeRow(DType type, const void* src, float* dst, int64_t elements);
void DequantizeRow(const TensorView& weight, int64_t row, float* dst);
// Dequantizes each weight row; dot products accumulate in double (no activation quantization).
void MatMul(const TensorView& weight, const float* x, int64_t num_tokens, float* y);
void RmsNorm(const float* x, const float* weight, float eps, int64_t n, float* y);
void LayerNorm(const float* x, const float* weight, const float* bias, float eps, int64_t n,
               float* y);
void Softmax(float* x, int64_t n);
void GeluTanh(const float* x, float* y, int64_t n);
void Silu(const float* x, float* y, int64_t n);
void Add(const float* a, const float* b, float* y, int64_t n);
void Mul(const float* a, const float* b, float* y, int64_t n);
void Scale(const float* x, float factor, float* y, int64_t n);
void RopeNeox(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
              const float* sin);
void RopeInterleaved(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
                     const float* sin);
}  // namespace reference

}  // namespace snug::kernels
