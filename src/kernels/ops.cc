// Element-wise and normalization kernels over f32 (kernels.h), SIMD via Highway with run-time
// dispatch. exp and tanh are Highway's polynomial versions (hwy/contrib/math, ≤ 4 ulp), so
// results match the scalar twins within a few ulp; Add, Mul and Scale match them exactly.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/kernels.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
// A per-target header: after highway.h (this comment keeps clang-format from sorting it up).
#include <hwy/contrib/math/math-inl.h>

HWY_BEFORE_NAMESPACE();
namespace snug::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using FloatTag = hn::ScalableTag<float>;

// y[i] = op(x[i]) for i < n. The last partial vector goes through a zero-padded buffer, so
// every element takes the same SIMD path whatever its position.
template <class Op>
void MapUnary(const float* x, float* y, int64_t n, const Op& op) {
  const FloatTag d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(op(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) {
    float buffer[HWY_MAX_BYTES / sizeof(float)] = {};
    const size_t rest = static_cast<size_t>(n - i);
    std::memcpy(buffer, x + i, rest * sizeof(float));
    hn::StoreU(op(d, hn::LoadU(d, buffer)), d, buffer);
    std::memcpy(y + i, buffer, rest * sizeof(float));
  }
}

template <class Op>
void MapBinary(const float* a, const float* b, float* y, int64_t n, const Op& op) {
  const FloatTag d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(op(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  }
  if (i < n) {
    float buffer_a[HWY_MAX_BYTES / sizeof(float)] = {};
    float buffer_b[HWY_MAX_BYTES / sizeof(float)] = {};
    const size_t rest = static_cast<size_t>(n - i);
    std::memcpy(buffer_a, a + i, rest * sizeof(float));
    std::memcpy(buffer_b, b + i, rest * sizeof(float));
    hn::StoreU(op(hn::LoadU(d, buffer_a), hn::LoadU(d, buffer_b)), d, buffer_a);
    std::memcpy(y + i, buffer_a, rest * sizeof(float));
  }
}

// Σ x[i]² with two accumulators (the adds of one would form a dependency chain).
float SumOfSquares(const float* x, int64_t n) {
  const FloatTag d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto sum0 = hn::Zero(d), sum1 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + lanes);
    sum0 = hn::MulAdd(v0, v0, sum0);
    sum1 = hn::MulAdd(v1, v1, sum1);
  }
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(d, x + i);
    sum0 = hn::MulAdd(v, v, sum0);
  }
  float total = hn::GetLane(hn::SumOfLanes(d, hn::Add(sum0, sum1)));
  for (; i < n; ++i) total += x[i] * x[i];
  return total;
}

void RmsNorm(const float* x, const float* weight, float eps, int64_t n, float* y) {
  const float scale = 1.0f / std::sqrt(SumOfSquares(x, n) / static_cast<float>(n) + eps);
  if (weight == nullptr) {
    MapUnary(x, y, n, [scale](FloatTag d, auto v) { return hn::Mul(v, hn::Set(d, scale)); });
    return;
  }
  MapBinary(x, weight, y, n,
            [scale](auto v, auto w) { return hn::Mul(hn::Mul(v, hn::Set(FloatTag(), scale)), w); });
}

// Two passes over x (mean, then the squared deviations), not E[x²] − E[x]²: patch values sit
// far from zero relative to their spread, where the one-pass form cancels.
void LayerNorm(const float* x, const float* weight, const float* bias, float eps, int64_t n,
               float* y) {
  const FloatTag d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  // The sum is of x − x[0]: small numbers beside the offset, so it does not lose the spread.
  const float shift = x[0];
  const auto shift_vector = hn::Set(d, shift);
  auto sum_vector = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    sum_vector = hn::Add(sum_vector, hn::Sub(hn::LoadU(d, x + i), shift_vector));
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, sum_vector));
  for (; i < n; ++i) sum += x[i] - shift;
  const float mean = shift + sum / static_cast<float>(n);
  const auto mean_vector = hn::Set(d, mean);
  auto squares_vector = hn::Zero(d);
  for (i = 0; i + lanes <= n; i += lanes) {
    const auto centered = hn::Sub(hn::LoadU(d, x + i), mean_vector);
    squares_vector = hn::MulAdd(centered, centered, squares_vector);
  }
  float squares = hn::GetLane(hn::SumOfLanes(d, squares_vector));
  for (; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
  const float scale = 1.0f / std::sqrt(squares / static_cast<float>(n) + eps);
  MapBinary(x, weight, y, n, [&](auto v, auto w) {
    return hn::Mul(hn::Mul(hn::Sub(v, hn::Set(FloatTag(), mean)), hn::Set(FloatTag(), scale)), w);
  });
  MapBinary(y, bias, y, n, [](auto v, auto b) { return hn::Add(v, b); });
}

void Softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const FloatTag d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  float max = x[0];
  int64_t i = 0;
  if (n >= lanes) {
    auto max_vector = hn::LoadU(d, x);
    for (i = lanes; i + lanes <= n; i += lanes)
      max_vector = hn::Max(max_vector, hn::LoadU(d, x + i));
    max = hn::GetLane(hn::MaxOfLanes(d, max_vector));
  }
  for (; i < n; ++i) max = std::max(max, x[i]);
  MapUnary(x, x, n, [max](FloatTag d, auto v) { return hn::Exp(d, hn::Sub(v, hn::Set(d, max))); });
  auto sum_vector = hn::Zero(d);
  for (i = 0; i + lanes <= n; i += lanes) sum_vector = hn::Add(sum_vector, hn::LoadU(d, x + i));
  float sum = hn::GetLane(hn::SumOfLanes(d, sum_vector));
  for (; i < n; ++i) sum += x[i];
  const float inverse = 1.0f / sum;
  MapUnary(x, x, n, [inverse](FloatTag d, auto v) { return hn::Mul(v, hn::Set(d, inverse)); });
}

void GeluTanh(const float* x, float* y, int64_t n) {
  MapUnary(x, y, n, [](FloatTag d, auto v) {
    const auto kSqrt2OverPi = hn::Set(d, 0.7978845608028654f);
    const auto cubic = hn::MulAdd(hn::Mul(hn::Set(d, 0.044715f), v), hn::Mul(v, v), v);
    const auto t = hn::Tanh(d, hn::Mul(kSqrt2OverPi, cubic));
    return hn::Mul(hn::Mul(hn::Set(d, 0.5f), v), hn::Add(hn::Set(d, 1.0f), t));
  });
}

void Silu(const float* x, float* y, int64_t n) {
  MapUnary(x, y, n, [](FloatTag d, auto v) {
    // exp(-x) overflows f32 past 88.7 (and Highway's Exp is specified up to 104): x / 1.6e38
    // is already 0 to f32 precision there.
    const auto exp_minus = hn::Exp(d, hn::Min(hn::Neg(v), hn::Set(d, 88.0f)));
    return hn::Div(v, hn::Add(hn::Set(d, 1.0f), exp_minus));
  });
}

void Add(const float* a, const float* b, float* y, int64_t n) {
  MapBinary(a, b, y, n, [](auto u, auto v) { return hn::Add(u, v); });
}

void Mul(const float* a, const float* b, float* y, int64_t n) {
  MapBinary(a, b, y, n, [](auto u, auto v) { return hn::Mul(u, v); });
}

void Scale(const float* x, float factor, float* y, int64_t n) {
  MapUnary(x, y, n, [factor](FloatTag d, auto v) { return hn::Mul(v, hn::Set(d, factor)); });
}

// Written as separate multiplies and adds, like the scalar twin; GCC may still fuse them where
// the target has FMA, so the two agree within rounding, not bit for bit.
void RopeNeox(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
              const float* sin) {
  const FloatTag d;
  const int lanes = static_cast<int>(hn::Lanes(d));
  const int half = rotary_dims / 2;
  for (int h = 0; h < num_heads; ++h) {
    float* first = x + static_cast<int64_t>(h) * head_dim;
    float* second = first + half;
    int i = 0;
    for (; i + lanes <= half; i += lanes) {
      const auto a = hn::LoadU(d, first + i), b = hn::LoadU(d, second + i);
      const auto c = hn::LoadU(d, cos + i), s = hn::LoadU(d, sin + i);
      hn::StoreU(hn::Sub(hn::Mul(a, c), hn::Mul(b, s)), d, first + i);
      hn::StoreU(hn::Add(hn::Mul(b, c), hn::Mul(a, s)), d, second + i);
    }
    for (; i < half; ++i) {
      const float a = first[i], b = second[i];
      first[i] = a * cos[i] - b * sin[i];
      second[i] = b * cos[i] + a * sin[i];
    }
  }
}

void RopeInterleaved(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
                     const float* sin) {
  const FloatTag d;
  const int lanes = static_cast<int>(hn::Lanes(d));
  const int half = rotary_dims / 2;
  for (int h = 0; h < num_heads; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    int i = 0;
    for (; i + lanes <= half; i += lanes) {
      hn::Vec<FloatTag> a, b;
      hn::LoadInterleaved2(d, head + 2 * i, a, b);
      const auto c = hn::LoadU(d, cos + i), s = hn::LoadU(d, sin + i);
      hn::StoreInterleaved2(hn::Sub(hn::Mul(a, c), hn::Mul(b, s)),
                            hn::Add(hn::Mul(b, c), hn::Mul(a, s)), d, head + 2 * i);
    }
    for (; i < half; ++i) {
      const float a = head[2 * i], b = head[2 * i + 1];
      head[2 * i] = a * cos[i] - b * sin[i];
      head[2 * i + 1] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace snug::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {

HWY_EXPORT(RmsNorm);
HWY_EXPORT(LayerNorm);
HWY_EXPORT(Softmax);
HWY_EXPORT(GeluTanh);
HWY_EXPORT(Silu);
HWY_EXPORT(Add);
HWY_EXPORT(Mul);
HWY_EXPORT(Scale);
HWY_EXPORT(RopeNeox);
HWY_EXPORT(RopeInterleaved);

void RmsNorm(const float* x, const float* weight, float eps, int64_t n, float* y) {
  CHECK(n > 0);
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, weight, eps, n, y);
}

void LayerNorm(const float* x, const float* weight, const float* bias, float eps, int64_t n,
               float* y) {
  CHECK(n > 0);
  HWY_DYNAMIC_DISPATCH(LayerNorm)(x, weight, bias, eps, n, y);
}

void Softmax(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(Softmax)(x, n); }

void GeluTanh(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(GeluTanh)(x, y, n); }

void Silu(const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(Silu)(x, y, n); }

void Add(const float* a, const float* b, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Add)(a, b, y, n);
}

void Mul(const float* a, const float* b, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Mul)(a, b, y, n);
}

void Scale(const float* x, float factor, float* y, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Scale)(x, factor, y, n);
}

void RopeNeox(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
              const float* sin) {
  CHECK(rotary_dims % 2 == 0 && rotary_dims <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeNeox)(x, num_heads, head_dim, rotary_dims, cos, sin);
}

void RopeInterleaved(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
                     const float* sin) {
  CHECK(rotary_dims % 2 == 0 && rotary_dims <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeInterleaved)(x, num_heads, head_dim, rotary_dims, cos, sin);
}

}  // namespace snug::kernels
#endif  // HWY_ONCE
