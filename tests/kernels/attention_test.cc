#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/kernels.h"
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
    for (int i = 0; i < head_dim; ++i)
      out[i] += scores[j] / total * F16ToF32(values[j * stride + i]);
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
          for (int i = 0; i < head_dim; ++i)
            max_error = std::max(max_error, std::abs(out[i] - exact[i]));
          // f32 accumulation over ≤ 256-wide dots of unit-variance values: errors ~1e-6.
          EXPECT_LT(max_error, 2e-5)
              << TargetName(target) << " head_dim " << head_dim << " keys " << num_keys;
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
  reference::AttendF16(query.data(), keys.data(), values.data(), num_keys, head_dim, head_dim, 0.2f,
                       sb, b.data());
  EXPECT_NEAR(sa.max, sb.max, 1e-4);
  EXPECT_NEAR(sa.sum, sb.sum, 1e-3 * sb.sum);
  for (int i = 0; i < head_dim; ++i) EXPECT_NEAR(a[i], b[i], 1e-3 * (1 + std::abs(b[i])));
}

// Keys and values of `num_keys` rows of 3 KV heads (we read head 1) in a block type, with the
// f32 values they decode to (the exact attention is computed on those).
template <class Block>
struct BlockRows {
  BlockRows(DType type, int num_keys, int head_dim, std::mt19937& rng)
      : head_dim(head_dim),
        stride(3 * head_dim / kQK),
        keys(num_keys * stride),
        values(num_keys * stride),
        decoded_keys(num_keys * stride * kQK),
        decoded_values(num_keys * stride * kQK) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> raw(keys.size() * kQK);
    for (float& x : raw) x = normal(rng);
    Quantize(type, raw.data(), num_keys, stride * kQK, keys.data());
    for (float& x : raw) x = normal(rng);
    Quantize(type, raw.data(), num_keys, stride * kQK, values.data());
    DequantizeRow(type, keys.data(), decoded_keys.data(), num_keys * stride * kQK);
    DequantizeRow(type, values.data(), decoded_values.data(), num_keys * stride * kQK);
  }
  const Block* key_head() const { return keys.data() + head_dim / kQK; }
  const Block* value_head() const { return values.data() + head_dim / kQK; }

  int head_dim;
  int64_t stride;  // blocks per row
  std::vector<Block> keys, values;
  std::vector<float> decoded_keys, decoded_values;  // [num_keys, 3 · head_dim]
};

// Runs `attend` over rows [0, split) then [split, num_keys), as a wrapped ring is read.
template <class Block, class Fn>
std::vector<float> AttendInTwoRuns(Fn attend, const std::vector<float>& query,
                                   const BlockRows<Block>& rows, int num_keys, int split,
                                   float scale, float sink) {
  std::vector<float> accumulator(rows.head_dim, 0.0f), out(rows.head_dim);
  AttentionState state;
  attend(query.data(), rows.key_head(), rows.value_head(), split, rows.stride, rows.head_dim, scale,
         state, accumulator.data());
  attend(query.data(), rows.key_head() + split * rows.stride,
         rows.value_head() + split * rows.stride, num_keys - split, rows.stride, rows.head_dim,
         scale, state, accumulator.data());
  FinishAttention(state, accumulator.data(), rows.head_dim, sink, out.data());
  return out;
}

// Softmax attention in double over the decoded rows, with the query as given (f32, not
// quantized): what the quantized kernels approximate.
template <class Block>
std::vector<double> ExactOverDecoded(const std::vector<float>& query, const BlockRows<Block>& rows,
                                     int num_keys, float scale, float sink) {
  const int64_t stride = rows.stride * kQK, offset = rows.head_dim;
  std::vector<double> scores(num_keys);
  double max = std::isfinite(sink) ? sink : -INFINITY;
  for (int j = 0; j < num_keys; ++j) {
    double dot = 0;
    for (int i = 0; i < rows.head_dim; ++i) {
      dot += query[i] * rows.decoded_keys[j * stride + offset + i];
    }
    scores[j] = scale * dot;
    max = std::max(max, scores[j]);
  }
  double total = std::isfinite(sink) ? std::exp(sink - max) : 0.0;
  for (double& s : scores) total += (s = std::exp(s - max));
  std::vector<double> out(rows.head_dim, 0.0);
  for (int j = 0; j < num_keys; ++j) {
    for (int i = 0; i < rows.head_dim; ++i) {
      out[i] += scores[j] / total * rows.decoded_values[j * stride + offset + i];
    }
  }
  return out;
}

template <class Block, class Fn>
void CheckBlockAttention(DType type, Fn simd, Fn twin, double* worst_vs_exact) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t target : SupportedTargets()) {
    ScopedTarget scope(target);
    for (int head_dim : {32, 96, 256, 512}) {
      for (int num_keys : {1, 5, 31, 32, 33, 200}) {
        for (float sink : {-INFINITY, 0.5f}) {
          const BlockRows<Block> rows(type, num_keys, head_dim, rng);
          std::vector<float> query(head_dim);
          // Queries of real models are not unit-scale: a spread of magnitudes per head.
          for (float& q : query) q = 2.0f * normal(rng);
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          const int split = num_keys / 3;
          const std::vector<float> out =
              AttendInTwoRuns(simd, query, rows, num_keys, split, scale, sink);
          const std::vector<float> expected =
              AttendInTwoRuns(twin, query, rows, num_keys, split, scale, sink);
          const std::vector<double> exact = ExactOverDecoded(query, rows, num_keys, scale, sink);
          double max_error = 0, max_exact_error = 0;
          for (int i = 0; i < head_dim; ++i) {
            max_error = std::max(max_error, std::abs(static_cast<double>(out[i]) - expected[i]));
            max_exact_error = std::max(max_exact_error, std::abs(out[i] - exact[i]));
          }
          *worst_vs_exact = std::max(*worst_vs_exact, max_exact_error);
          // Same integer dots, same rounded query: only f32 summation order differs.
          EXPECT_LT(max_error, 2e-5) << Name(type) << " " << TargetName(target) << " head_dim "
                                     << head_dim << " keys " << num_keys;
          // The int16 query moves scores by ~1e-5 of their spread: outputs (|v| ≲ 3) by ~1e-4.
          EXPECT_LT(max_exact_error, 1e-3) << Name(type) << " " << TargetName(target)
                                           << " head_dim " << head_dim << " keys " << num_keys;
        }
      }
    }
  }
}

TEST(AttentionTest, Q8_0MatchesTwinAndExactOnEveryTarget) {
  double worst_vs_exact = 0;
  CheckBlockAttention<BlockQ8_0>(DType::kQ8_0, &AttendQ8_0, &reference::AttendQ8_0,
                                 &worst_vs_exact);
  std::printf("q8_0 KV attention: max |output - exact over the decoded rows| = %.5f\n",
              worst_vs_exact);
}

TEST(AttentionTest, Q4_0MatchesTwinAndExactOnEveryTarget) {
  double worst_vs_exact = 0;
  CheckBlockAttention<BlockQ4_0>(DType::kQ4_0, &AttendQ4_0, &reference::AttendQ4_0,
                                 &worst_vs_exact);
  std::printf("q4_0 KV attention: max |output - exact over the decoded rows| = %.5f\n",
              worst_vs_exact);
}

}  // namespace
}  // namespace snug::kernels
