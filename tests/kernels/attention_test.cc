#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/targets.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

// Plain softmax attention in double: the definition the online version must agree with.
std::vector<double> Exact(const std::vector<float>& query, const std::vector<uint16_t>& keys,
                          const std::vector<uint16_t>& values, int num_keys, int stride,
                          int head_dim, float scale, float sink) {
  std::vector<double> scores(num_keys);
  double max = std::isfinite(sink) ? sink : -INFINITY;
  for (int j = 0; j < num_keys; ++j) {
    double dot = 0;
    for (int i = 0; i < head_dim; ++i) dot += query[i] * F16ToF32(keys[j * stride + i]);
    scores[j] = scale * dot;
    max = std::max(max, scores[j]);
  }
  double total = std::isfinite(sink) ? std::exp(sink - max) : 0.0;
  for (double& s : scores) total += (s = std::exp(s - max));
  std::vector<double> out(head_dim, 0.0);
  for (int j = 0; j < num_keys; ++j) {
    for (int i = 0; i < head_dim; ++i) out[i] += scores[j] / total * F16ToF32(values[j * stride + i]);
  }
  return out;
}

TEST(AttentionTest, OnlineSoftmaxMatchesExactOnEveryTarget) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t target : SupportedTargets()) {
    ScopedTarget scope(target);
    for (int head_dim : {8, 20, 64, 256}) {
      for (int num_keys : {1, 5, 31, 32, 33, 200}) {
        for (float sink : {-INFINITY, 0.5f}) {
          const int stride = head_dim * 3;  // rows of 3 KV heads; we read head 0
          std::vector<float> query(head_dim);
          std::vector<uint16_t> keys(num_keys * stride), values(num_keys * stride);
          for (float& q : query) q = normal(rng);
          for (uint16_t& k : keys) k = F32ToF16(normal(rng));
          for (uint16_t& v : values) v = F32ToF16(normal(rng));
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          // Split the keys into two runs, as a wrapped ring is read.
          const int first_run = num_keys / 3;
          std::vector<float> accumulator(head_dim, 0.0f), out(head_dim);
          AttentionState state;
          AttendF16(query.data(), keys.data(), values.data(), first_run, stride, head_dim, scale,
                    state, accumulator.data());
          AttendF16(query.data(), keys.data() + first_run * stride,
                    values.data() + first_run * stride, num_keys - first_run, stride, head_dim,
                    scale, state, accumulator.data());
          FinishAttention(state, accumulator.data(), head_dim, sink, out.data());
          const std::vector<double> exact =
              Exact(query, keys, values, num_keys, stride, head_dim, scale, sink);
          double max_error = 0;
          for (int i = 0; i < head_dim; ++i) max_error = std::max(max_error, std::abs(out[i] - exact[i]));
          // f32 accumulation over ≤ 256-wide dots of unit-variance values: errors ~1e-6.
          EXPECT_LT(max_error, 2e-5) << TargetName(target) << " head_dim " << head_dim
                                     << " keys " << num_keys;
        }
      }
    }
  }
}

TEST(AttentionTest, ReferenceTwinAgrees) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const int head_dim = 48, num_keys = 77;
  std::vector<float> query(head_dim);
  std::vector<uint16_t> keys(num_keys * head_dim), values(num_keys * head_dim);
  for (float& q : query) q = normal(rng);
  for (uint16_t& k : keys) k = F32ToF16(normal(rng));
  for (uint16_t& v : values) v = F32ToF16(normal(rng));
  std::vector<float> a(head_dim, 0.0f), b(head_dim, 0.0f);
  AttentionState sa, sb;
  AttendF16(query.data(), keys.data(), values.data(), num_keys, head_dim, head_dim, 0.2f, sa,
            a.data());
  reference::AttendF16(query.data(), keys.data(), values.data(), num_keys, head_dim, head_dim,
                       0.2f, sb, b.data());
  EXPECT_NEAR(sa.max, sb.max, 1e-4);
  EXPECT_NEAR(sa.sum, sb.sum, 1e-3 * sb.sum);
  for (int i = 0; i < head_dim; ++i) EXPECT_NEAR(a[i], b[i], 1e-3 * (1 + std::abs(b[i])));
}

}  // namespace
}  // namespace snug::kernels
