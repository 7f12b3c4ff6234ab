// Private to kernels/matmul*.cc: the layout of activations quantized for the integer kernels,
// and the row-range entry points of the per-family files (each dispatches to the best target).
// MatMul (matmul.cc) quantizes the activations once, then splits output rows across threads.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace snug::kernels::internal {

// Blocks of activation scales (and sums) are padded per token to a multiple of this many, with
// zeros, so per-group vector loops over weight blocks need no tail handling.
inline constexpr int64_t kGroupBlocks = 32;

// The int8 copy of the activations is laid out for the x86 byte kernels (matmul_x86-inl.h): in
// each span of 8 blocks of 32 values, the block pairs (k, k + 4), k < 4, lie as 64 bytes
// [x_k 0..15, x_k+4 0..15, x_k 16..31, x_k+4 16..31], so one load gives a pair's low halves and
// one its high halves. Rows are padded with zeros to whole spans, so a row's last, partial span
// runs the same code as the others.
inline constexpr int64_t kSpanBlocks = 8;
inline constexpr int64_t kSpanValues = kSpanBlocks * 32;

// Position of value c of a token's row in that layout.
inline int64_t Q8Index(int64_t c) {
  const int64_t block = c / 32 % kSpanBlocks, half = c / 16 % 2;
  return c / kSpanValues * kSpanValues + block % 4 * 64 + half * 32 + block / 4 * 16 + c % 16;
}

// Activations quantized per block to 8-bit integers, stored twice: widened to int16 (q, which
// the generic dot loops feed to the int16 multiply-add directly) and as int8 (q8, for the x86
// kernels that multiply bytes): x[t, c] ≈ scale[t, c / block] · q[t, c] and
// q8[t, Q8Index(c)] == q[t, c].
// block is 32 for the legacy types and MXFP4, 256 for the K types (one scale per super-block;
// the sub-block sums carry the K types' mins).
struct QuantizedActivations {
  int16_t* q = nullptr;       // [num_tokens, cols]
  int8_t* q8 = nullptr;       // [num_tokens, q8_stride] in Q8Index order, zeros past cols
  float* scale = nullptr;     // [num_tokens, scale_stride]: cols / block used, then zeros
  int32_t* sums = nullptr;    // [num_tokens, sums_stride]: Σ q over each 32 values, then zeros
  int64_t cols = 0;
  int64_t num_tokens = 0;
  int64_t block = 32;
  int64_t scale_stride = 0;
  int64_t sums_stride = 0;
  int64_t q8_stride = 0;  // cols rounded up to whole spans (kSpanValues)
  // Values of each 32-value block stored even first (q and q8): position p < 16 holds value
  // 2p, p ≥ 16 holds 2(p − 16) + 1, matching codes packed two per byte in element order (MLX
  // 4-bit and mxfp4), whose low nibbles are then values 0..15 of this order, as for Q4_0.
  bool even_odd = false;

  const int16_t* q_row(int64_t t) const { return q + t * cols; }
  const int8_t* q8_row(int64_t t) const { return q8 + t * q8_stride; }
  const float* scale_row(int64_t t) const { return scale + t * scale_stride; }
  const int32_t* sums_row(int64_t t) const { return sums + t * sums_stride; }
};

// 32 for legacy types, MXFP4 and the MLX types, 256 for the K types, 0 for float weights.
int64_t ActivationBlock(DType weight_type);
// Whether the weight type takes its activations in the even_odd order.
bool EvenOddActivations(DType weight_type);

// Quantizes tokens [token_begin, token_end) of x ([num_tokens, cols]) into `acts`.
void QuantizeActivations(const float* x, int64_t token_begin, int64_t token_end,
                         const QuantizedActivations& acts);

// y[t, r] for r in [row_begin, row_end), every token; y: [num_tokens, rows].
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4 (matmul_legacy.cc).
void MatMulRowsLegacy(const TensorView& weight, const QuantizedActivations& acts,
                      int64_t row_begin, int64_t row_end, float* y);
// Q4_K, Q5_K, Q6_K (matmul_k.cc).
void MatMulRowsK(const TensorView& weight, const QuantizedActivations& acts, int64_t row_begin,
                 int64_t row_end, float* y);
// The MLX types (matmul_mlx.cc); weight.groups holds the scales (and biases).
void MatMulRowsMlx(const TensorView& weight, const QuantizedActivations& acts, int64_t row_begin,
                   int64_t row_end, float* y);
// F32, F16, BF16 against f32 activations x: [num_tokens, cols] (matmul_float.cc).
void MatMulRowsFloat(const TensorView& weight, const float* x, int64_t num_tokens,
                     int64_t row_begin, int64_t row_end, float* y);

}  // namespace snug::kernels::internal
