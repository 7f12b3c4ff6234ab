// Matrix products of F32, F16 and BF16 weights: weights widened to f32 and multiply-added with
// the f32 activations (no activation quantization). Columns need not be a multiple of anything:
// a scalar tail handles the rest.

// Arrays of vectors are not allowed for SVE's sizeless types: arm64 dispatches to NEON.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include <cstdint>

#include "base/check.h"
#include "kernels/matmul_internal.h"
#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_float.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace {

namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Four tokens share each widened weight vector; two accumulators per token hide FMA latency.
constexpr int kTokenTile = 4;

struct F32 {
  using Weight = float;
  static HWY_INLINE VF Load(const float* p) { return hn::LoadU(DF(), p); }
  static float Scalar(float w) { return w; }
};
struct F16 {
  using Weight = uint16_t;
  static HWY_INLINE VF Load(const uint16_t* p) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(DF(), hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
  }
  static float Scalar(uint16_t w) { return F16ToF32(w); }
};
struct BF16 {
  using Weight = uint16_t;
  static HWY_INLINE VF Load(const uint16_t* p) {
    const hn::Rebind<hwy::bfloat16_t, DF> dh;
    return hn::PromoteTo(DF(), hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(p)));
  }
  static float Scalar(uint16_t w) { return Bf16ToF32(w); }
};

// y[t, row] for tokens t0 .. t0 + kTokens − 1, with the same per-token order of operations
// whatever kTokens is.
template <class Type, int kTokens>
HWY_INLINE void RowTile(const TensorView& weight, const float* x, int64_t row, int64_t t0,
                        float* HWY_RESTRICT y) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const int64_t cols = weight.cols();
  const auto* w = reinterpret_cast<const typename Type::Weight*>(weight.row(row));
  const float* xt[kTokens];
  VF acc0[kTokens], acc1[kTokens];
  for (int t = 0; t < kTokens; ++t) {
    xt[t] = x + (t0 + t) * cols;
    acc0[t] = acc1[t] = hn::Zero(df);
  }
  int64_t i = 0;
  for (; i + 2 * n <= cols; i += 2 * n) {
    const VF w0 = Type::Load(w + i);
    const VF w1 = Type::Load(w + i + n);
    for (int t = 0; t < kTokens; ++t) {
      acc0[t] = hn::MulAdd(w0, hn::LoadU(df, xt[t] + i), acc0[t]);
      acc1[t] = hn::MulAdd(w1, hn::LoadU(df, xt[t] + i + n), acc1[t]);
    }
  }
  if (i + n <= cols) {
    const VF w0 = Type::Load(w + i);
    for (int t = 0; t < kTokens; ++t) acc0[t] = hn::MulAdd(w0, hn::LoadU(df, xt[t] + i), acc0[t]);
    i += n;
  }
  const int64_t rows = weight.rows();
  for (int t = 0; t < kTokens; ++t) {
    float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(acc0[t], acc1[t])));
    for (int64_t j = i; j < cols; ++j) sum += Type::Scalar(w[j]) * xt[t][j];
    y[(t0 + t) * rows + row] = sum;
  }
}

template <class Type>
HWY_NOINLINE void Rows(const TensorView& weight, const float* x, int64_t num_tokens,
                       int64_t row_begin, int64_t row_end, float* y) {
  for (int64_t row = row_begin; row < row_end; ++row) {
    int64_t t = 0;
    for (; t + kTokenTile <= num_tokens; t += kTokenTile) {
      RowTile<Type, kTokenTile>(weight, x, row, t, y);
    }
    for (; t < num_tokens; ++t) RowTile<Type, 1>(weight, x, row, t, y);
  }
}

}  // namespace

void MatMulRowsFloatImpl(const TensorView& weight, const float* x, int64_t num_tokens,
                         int64_t row_begin, int64_t row_end, float* y) {
  switch (weight.dtype) {
    case DType::kF32: return Rows<F32>(weight, x, num_tokens, row_begin, row_end, y);
    case DType::kF16: return Rows<F16>(weight, x, num_tokens, row_begin, row_end, y);
    case DType::kBF16: return Rows<BF16>(weight, x, num_tokens, row_begin, row_end, y);
    default: CHECK(false) << "not a float weight type: " << Name(weight.dtype);
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {
HWY_EXPORT(MatMulRowsFloatImpl);

void internal::MatMulRowsFloat(const TensorView& weight, const float* x, int64_t num_tokens,
                               int64_t row_begin, int64_t row_end, float* y) {
  HWY_DYNAMIC_DISPATCH(MatMulRowsFloatImpl)(weight, x, num_tokens, row_begin, row_end, y);
}
}  // namespace snug::kernels
#endif  // HWY_ONCE
