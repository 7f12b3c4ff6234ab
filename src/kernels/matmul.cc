// MatMul: picks the kernel family of the weight type, quantizes the activations once per call
// into the caller's scratch (int8 values stored as int16 and as int8 in the x86 kernels' order,
// one f32 scale per 32 or 256 values, sums per 32), then splits output rows across the pool.
// Kernels: matmul_*.cc.

// Arrays of vectors are not allowed for SVE's sizeless types: arm64 dispatches to NEON.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include <cstdint>
#include <cstring>

#include "base/check.h"
#include "kernels/kernels.h"
#include "kernels/matmul_internal.h"
#include "tensor/blocks.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

// Per block of acts.block values: scale = max|x| / 127 and q = round(x · 127 / max|x|) (to
// nearest even, as the scalar emulation in the tests does); sums of q per 32 values.
void QuantizeActivationsImpl(const float* x, int64_t token_begin, int64_t token_end,
                             const internal::QuantizedActivations& acts) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di32;
  const hn::Rebind<int16_t, decltype(df)> di16;
  const hn::Rebind<int8_t, decltype(df)> di8;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  static_assert(hn::MaxLanes(df) <= 16, "q8 stores must stay within a 16-value half");
  const int64_t cols = acts.cols;
  const int64_t num_blocks = cols / acts.block;
  for (int64_t t = token_begin; t < token_end; ++t) {
    const float* xt = x + t * cols;
    int16_t* q = acts.q + t * cols;
    int8_t* q8 = acts.q8 + t * acts.q8_stride;
    // The padding of a partial last span is interleaved with its values: clear the whole span.
    if (acts.q8_stride > cols) {
      std::memset(q8 + acts.q8_stride - internal::kSpanValues, 0, internal::kSpanValues);
    }
    float* scale = acts.scale + t * acts.scale_stride;
    int32_t* sums = acts.sums + t * acts.sums_stride;
    alignas(64) float permuted[32];
    for (int64_t b = 0; b < num_blocks; ++b) {
      const float* xb = xt + b * acts.block;
      if (acts.even_odd) {  // acts.block is 32 for these types
        for (int j = 0; j < 32; ++j) permuted[j % 2 * 16 + j / 2] = xb[j];
        xb = permuted;
      }
      auto max_abs = hn::Zero(df);
      for (int64_t i = 0; i < acts.block; i += n) {
        max_abs = hn::Max(max_abs, hn::Abs(hn::LoadU(df, xb + i)));
      }
      const float amax = hn::GetLane(hn::MaxOfLanes(df, max_abs));
      scale[b] = amax / 127.0f;
      const auto inverse = hn::Set(df, amax > 0.0f ? 127.0f / amax : 0.0f);
      for (int64_t s = 0; s < acts.block; s += 32) {
        auto sum = hn::Zero(di32);
        for (int64_t i = s; i < s + 32; i += n) {
          const auto qi = hn::NearestInt(hn::Mul(hn::LoadU(df, xb + i), inverse));
          hn::StoreU(hn::DemoteTo(di16, qi), di16, q + b * acts.block + i);
          // n ≤ 16 values never straddle a 16-value half, which Q8Index keeps together.
          hn::StoreU(hn::DemoteTo(di8, qi), di8, q8 + internal::Q8Index(b * acts.block + i));
          sum = hn::Add(sum, qi);
        }
        sums[(b * acts.block + s) / 32] = hn::GetLane(hn::SumOfLanes(di32, sum));
      }
    }
    for (int64_t b = num_blocks; b < acts.scale_stride; ++b) scale[b] = 0.0f;
    for (int64_t b = cols / 32; b < acts.sums_stride; ++b) sums[b] = 0;
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {
namespace {

HWY_EXPORT(QuantizeActivationsImpl);

constexpr int64_t kAlignBytes = 64;
// Output rows per unit of work: a multiple of 16 floats keeps threads off each other's y lines.
constexpr int64_t kRowGrain = 16;

int64_t RoundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Byte sizes of the four arrays of QuantizedActivations in the scratch, each padded to keep
// the next one aligned.
struct ScratchLayout {
  int64_t scale_stride, sums_stride, q8_stride;
  int64_t q_bytes, q8_bytes, scale_bytes, sums_bytes;
  int64_t total() const { return q_bytes + q8_bytes + scale_bytes + sums_bytes + kAlignBytes; }
};

ScratchLayout Layout(int64_t block, int64_t cols, int64_t num_tokens) {
  ScratchLayout layout;
  layout.scale_stride = RoundUp(cols / block, internal::kGroupBlocks);
  layout.sums_stride = RoundUp(cols / 32, internal::kGroupBlocks);
  layout.q_bytes = RoundUp(num_tokens * cols * 2, kAlignBytes);
  layout.q8_stride = RoundUp(cols, internal::kSpanValues);
  layout.q8_bytes = RoundUp(num_tokens * layout.q8_stride, kAlignBytes);
  layout.scale_bytes = RoundUp(num_tokens * layout.scale_stride * 4, kAlignBytes);
  layout.sums_bytes = RoundUp(num_tokens * layout.sums_stride * 4, kAlignBytes);
  return layout;
}

}  // namespace

int64_t internal::ActivationBlock(DType weight_type) {
  switch (weight_type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      return 0;
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
    case DType::kMXFP4:
    case DType::kIQ4_NL:
    case DType::kMlxQ2:
    case DType::kMlxQ3:
    case DType::kMlxQ4:
    case DType::kMlxQ5:
    case DType::kMlxQ6:
    case DType::kMlxQ8:
    case DType::kMlxMXFP4:
      return kQK;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS:
      return kQK_K;
    default:
      CHECK(false) << "MatMul: " << Name(weight_type) << " is not a weight type";
      return 0;
  }
}

bool IsWeightType(DType type) {
  return Info(type).runs && type != DType::kQ8_1 && type != DType::kQ8_K;
}

bool internal::EvenOddActivations(DType weight_type) {
  return weight_type == DType::kMlxQ4 || weight_type == DType::kMlxMXFP4;
}

void internal::QuantizeActivations(const float* x, int64_t token_begin, int64_t token_end,
                                   const QuantizedActivations& acts) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationsImpl)(x, token_begin, token_end, acts);
}

size_t MatMulScratchBytes(DType weight_type, int64_t cols, int64_t num_tokens) {
  const int64_t block = internal::ActivationBlock(weight_type);
  if (block == 0) return 0;
  return static_cast<size_t>(Layout(block, cols, num_tokens).total());
}

void MatMul(const TensorView& weight, const float* x, int64_t num_tokens, float* y,
            std::span<std::byte> scratch, ThreadPool& pool) {
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  CHECK(num_tokens >= 0 && rows >= 0 && cols > 0);
  if (num_tokens == 0 || rows == 0) return;
  const int64_t block = internal::ActivationBlock(weight.dtype);
  if (block == 0) {
    pool.ParallelFor(rows, kRowGrain, [&](int64_t begin, int64_t end, int) {
      internal::MatMulRowsFloat(weight, x, num_tokens, begin, end, y);
    });
    return;
  }
  CHECK(cols % block == 0) << "MatMul: " << cols << " columns of " << Name(weight.dtype);
  const bool mlx = IsMlx(weight.dtype);
  if (mlx) {
    const GroupParams& groups = weight.groups;
    CHECK(groups.scales != nullptr && (groups.biases != nullptr) == (weight.dtype != DType::kMlxMXFP4))
        << "MatMul: " << Name(weight.dtype) << " without its scales or biases";
    CHECK(groups.group_size % 32 == 0 && groups.group_size > 0 && cols % groups.group_size == 0)
        << "MatMul: " << Name(weight.dtype) << " group size " << groups.group_size << " for "
        << cols << " columns";
    CHECK(weight.dtype == DType::kMlxMXFP4 || groups.scale_dtype == DType::kBF16 ||
          groups.scale_dtype == DType::kF16 || groups.scale_dtype == DType::kF32)
        << "MatMul: scales of type " << Name(groups.scale_dtype);
  }
  const ScratchLayout layout = Layout(block, cols, num_tokens);
  CHECK_GE(static_cast<int64_t>(scratch.size()), layout.total());
  auto address = reinterpret_cast<uintptr_t>(scratch.data());
  auto* base = reinterpret_cast<std::byte*>(RoundUp(static_cast<int64_t>(address), kAlignBytes));
  internal::QuantizedActivations acts;
  acts.q = reinterpret_cast<int16_t*>(base);
  acts.q8 = reinterpret_cast<int8_t*>(base + layout.q_bytes);
  acts.scale = reinterpret_cast<float*>(base + layout.q_bytes + layout.q8_bytes);
  acts.sums = reinterpret_cast<int32_t*>(base + layout.q_bytes + layout.q8_bytes +
                                         layout.scale_bytes);
  acts.cols = cols;
  acts.num_tokens = num_tokens;
  acts.block = block;
  acts.scale_stride = layout.scale_stride;
  acts.sums_stride = layout.sums_stride;
  acts.q8_stride = layout.q8_stride;
  acts.even_odd = internal::EvenOddActivations(weight.dtype);

  // Decode quantizes one row of x on the caller (a few microseconds, less than a dispatch);
  // prefill spreads the tokens over the threads.
  if (num_tokens < 2 * pool.num_threads()) {
    internal::QuantizeActivations(x, 0, num_tokens, acts);
  } else {
    pool.ParallelFor(num_tokens, 1, [&](int64_t begin, int64_t end, int) {
      internal::QuantizeActivations(x, begin, end, acts);
    });
  }
  const bool k_type = block == kQK_K;
  pool.ParallelFor(rows, kRowGrain, [&](int64_t begin, int64_t end, int) {
    if (mlx) {
      internal::MatMulRowsMlx(weight, acts, begin, end, y);
    } else if (k_type) {
      internal::MatMulRowsK(weight, acts, begin, end, y);
    } else {
      internal::MatMulRowsLegacy(weight, acts, begin, end, y);
    }
  });
}

}  // namespace snug::kernels
#endif  // HWY_ONCE
