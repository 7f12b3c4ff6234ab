// Prints, as JSON lines: the read bandwidth of this run (the yardstick), then for every weight
// type and shape the matrix × vector throughput in GB/s of weight bytes (best of several calls)
// with 1 and 2 threads and its fraction of the bandwidth, then prefill GFLOP/s for Q4_0, Q8_0
// and MLX 4/8-bit. MLX weights (group 64, bf16 scales and biases) count their scales and biases
// among the bytes read.
// K types need cols % 256 == 0: they use 2880 × 2816 for 2880 × 2880 and 262144 × 1024 for the
// 262144 × 1152 output projection (both far above the last-level cache).
// Usage: matmul_bench [--target=AVX2] [--shape=ROWSxCOLS] [type ...]
// (default: the best target, the shapes above and 4096 × 4096 for prefill, every weight type;
// --shape replaces both: a small prefill shape gives calls short enough to time on a busy machine).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/targets.h"
#include "memory_bandwidth.h"
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace snug::bench {
namespace {

struct Shape {
  int64_t rows, cols;
};

// Valid weights with non-pathological values (no NaN, infinities or denormals): random
// mantissas and signs under fixed exponents, f16 scales of about 1/128, MXFP4 exponent 127.
std::vector<uint8_t> Weights(DType type, Shape shape) {
  const DTypeInfo& info = Info(type);
  std::vector<uint8_t> bytes(static_cast<size_t>(RowBytes(type, shape.cols) * shape.rows));
  uint64_t state = 0x243F6A8885A308D3ull;
  auto next = [&] {  // xorshift64
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word = next();
    if (type == DType::kF32) word = (word & 0x807FFFFF807FFFFFull) | 0x3F0000003F000000ull;
    if (type == DType::kF16) word = (word & 0x83FF83FF83FF83FFull) | 0x3800380038003800ull;
    if (type == DType::kBF16) word = (word & 0x807F807F807F807Full) | 0x3F003F003F003F00ull;
    std::memcpy(&bytes[i], &word, 8);
  }
  if (info.block_elements == 1) return bytes;
  const uint16_t scale = 0x2000;  // 2^-7 as IEEE half
  for (size_t block = 0; block < bytes.size(); block += info.block_bytes) {
    uint8_t* p = &bytes[block];
    switch (type) {
      case DType::kQ6_K: std::memcpy(p + 208, &scale, 2); break;
      case DType::kMXFP4: p[0] = 127; break;
      case DType::kQ2_K:
        std::memcpy(p + 80, &scale, 2);
        std::memcpy(p + 82, &scale, 2);
        break;
      case DType::kQ3_K: std::memcpy(p + 108, &scale, 2); break;
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        std::memcpy(p, &scale, 2);
        std::memcpy(p + 2, &scale, 2);
        break;
      default: std::memcpy(p, &scale, 2);
    }
  }
  return bytes;
}

// An MLX weight as mlx-community's files hold it (group 64, bf16 scales and biases; mxfp4:
// E8M0 bytes per 32): the codes from Weights(), the group parameters beside them.
struct MlxWeight {
  std::vector<uint8_t> codes, scales, biases;
  TensorView view;
  int64_t bytes() const {  // everything a matrix × vector reads
    return static_cast<int64_t>(codes.size() + scales.size() + biases.size());
  }
};

MlxWeight MlxWeights(DType type, Shape shape) {
  const int64_t group = type == DType::kMlxMXFP4 ? 32 : 64;
  const int64_t groups = shape.rows * (shape.cols / group);
  MlxWeight weight;
  weight.codes = Weights(type, shape);
  if (type == DType::kMlxMXFP4) {
    weight.scales.assign(static_cast<size_t>(groups), 127);
  } else {
    weight.scales.resize(static_cast<size_t>(2 * groups));
    weight.biases.resize(static_cast<size_t>(2 * groups));
    for (int64_t g = 0; g < groups; ++g) {
      const uint16_t scale = 0x3C00;  // bf16 2^-7
      const uint16_t bias = static_cast<uint16_t>(0xBC00 | (g & 0x7F));  // about −2^-7
      std::memcpy(&weight.scales[2 * g], &scale, 2);
      std::memcpy(&weight.biases[2 * g], &bias, 2);
    }
  }
  weight.view = TensorView{weight.codes.data(), type, 2, {shape.rows, shape.cols, 0, 0}};
  weight.view.groups = {weight.scales.data(),
                        weight.biases.empty() ? nullptr : weight.biases.data(), DType::kBF16,
                        group};
  return weight;
}

// Best time of MatMul over a few calls (at least kMinCalls, about kMinSeconds in total).
double BestSeconds(const TensorView& weight, int64_t num_tokens, ThreadPool& pool) {
  constexpr int kMinCalls = 5;
  constexpr double kMinSeconds = 0.3;
  std::vector<float> x(static_cast<size_t>(num_tokens * weight.cols()));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) / 500.0f - 1;
  std::vector<float> y(static_cast<size_t>(num_tokens * weight.rows()));
  std::vector<std::byte> scratch(
      kernels::MatMulScratchBytes(weight.dtype, weight.cols(), num_tokens));
  kernels::MatMul(weight, x.data(), num_tokens, y.data(), scratch, pool);  // warm-up
  double best = 1e30, total = 0.0;
  for (int call = 0; call < kMinCalls || total < kMinSeconds; ++call) {
    const auto start = std::chrono::steady_clock::now();
    kernels::MatMul(weight, x.data(), num_tokens, y.data(), scratch, pool);
    const double seconds = Seconds(std::chrono::steady_clock::now() - start);
    best = std::min(best, seconds);
    total += seconds;
  }
  return best;
}

bool IsKType(DType type) { return Info(type).block_elements == 256; }

int Main(int argc, char** argv) {
  std::vector<DType> types;
  std::optional<kernels::ScopedTarget> forced_target;
  std::string target_name = kernels::BestTargetName();
  std::optional<Shape> forced_shape;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--target=")) {
      for (int64_t target : kernels::SupportedTargets()) {
        if (kernels::TargetName(target) == arg.substr(9)) {
          forced_target.emplace(target);
          target_name = arg.substr(9);
        }
      }
      if (!forced_target) {
        std::fprintf(stderr, "matmul_bench: target '%s' not supported here\n", arg.c_str() + 9);
        return 1;
      }
      continue;
    }
    if (arg.starts_with("--shape=")) {
      long rows = 0, cols = 0;
      if (std::sscanf(arg.c_str() + 8, "%ldx%ld", &rows, &cols) != 2 || rows <= 0 || cols <= 0) {
        std::fprintf(stderr, "matmul_bench: bad shape '%s'\n", arg.c_str() + 8);
        return 1;
      }
      forced_shape = Shape{rows, cols};
      continue;
    }
    const std::optional<DType> type = DTypeFromName(argv[i]);
    if (!type) {
      std::fprintf(stderr, "matmul_bench: unknown type '%s'\n", argv[i]);
      return 1;
    }
    types.push_back(*type);
  }
  if (types.empty()) {
    types = {DType::kF32,    DType::kF16,    DType::kBF16,   DType::kQ8_0,  DType::kQ4_0,
             DType::kQ4_1,   DType::kQ5_0,   DType::kQ5_1,   DType::kQ2_K,  DType::kQ3_K,
             DType::kQ4_K,   DType::kQ5_K,   DType::kQ6_K,   DType::kIQ4_NL, DType::kIQ4_XS,
             DType::kMXFP4,  DType::kMlxQ4,  DType::kMlxQ8,  DType::kMlxMXFP4};
  }
  ThreadPool pools[2] = {ThreadPool(1), ThreadPool(2)};
  double bandwidth[2];
  {
    const WordBuffer buffer((size_t{1} << 30) / sizeof(uint64_t));
    for (int p = 0; p < 2; ++p) bandwidth[p] = ReadBandwidth(buffer, pools[p], 7);
  }
  std::printf("{\"benchmark\": \"matmul_bandwidth\", \"target\": \"%s\", "
              "\"read_gb_per_s_1_thread\": %.2f, \"read_gb_per_s_2_threads\": %.2f}\n",
              target_name.c_str(), bandwidth[0] / 1e9, bandwidth[1] / 1e9);
  for (DType type : types) {
    const bool k_type = IsKType(type);
    std::vector<Shape> shapes = {{4096, 4096},
                                 {2880, k_type ? 2816 : 2880},
                                 {262144, k_type ? 1024 : 1152}};
    if (forced_shape) shapes = {*forced_shape};
    for (const Shape& shape : shapes) {
      const MlxWeight mlx = IsMlx(type) ? MlxWeights(type, shape) : MlxWeight{};
      const std::vector<uint8_t> bytes = IsMlx(type) ? std::vector<uint8_t>() : Weights(type, shape);
      const TensorView weight =
          IsMlx(type) ? mlx.view : TensorView{bytes.data(), type, 2, {shape.rows, shape.cols, 0, 0}};
      // MLX: the scales and biases are read too, so they count.
      const int64_t weight_bytes = IsMlx(type) ? mlx.bytes() : weight.bytes();
      std::printf("{\"benchmark\": \"matvec\", \"type\": \"%s\", \"rows\": %ld, \"cols\": %ld, "
                  "\"weight_bytes\": %ld",
                  std::string(Name(type)).c_str(), static_cast<long>(shape.rows),
                  static_cast<long>(shape.cols), static_cast<long>(weight_bytes));
      for (int p = 0; p < 2; ++p) {
        const double rate = static_cast<double>(weight_bytes) / BestSeconds(weight, 1, pools[p]);
        const char* suffix = p ? "2_threads" : "1_thread";
        std::printf(", \"gb_per_s_%s\": %.2f, \"fraction_of_bandwidth_%s\": %.3f", suffix,
                    rate / 1e9, suffix, rate / bandwidth[p]);
      }
      std::printf("}\n");
      std::fflush(stdout);
    }
  }
  // Prefill: compute-bound, so every type's integer kernel is measured in GFLOP/s.
  constexpr int64_t kPrefillTokens = 64;
  for (DType type : {DType::kQ4_0, DType::kQ8_0, DType::kMlxQ4, DType::kMlxQ8}) {
    if (std::find(types.begin(), types.end(), type) == types.end()) continue;
    const Shape shape = forced_shape.value_or(Shape{4096, 4096});
    const MlxWeight mlx = IsMlx(type) ? MlxWeights(type, shape) : MlxWeight{};
    const std::vector<uint8_t> bytes = IsMlx(type) ? std::vector<uint8_t>() : Weights(type, shape);
    const TensorView weight =
        IsMlx(type) ? mlx.view : TensorView{bytes.data(), type, 2, {shape.rows, shape.cols, 0, 0}};
    std::printf("{\"benchmark\": \"prefill\", \"type\": \"%s\", \"rows\": %ld, \"cols\": %ld, "
                "\"num_tokens\": %ld",
                std::string(Name(type)).c_str(), static_cast<long>(shape.rows),
                static_cast<long>(shape.cols), static_cast<long>(kPrefillTokens));
    for (int p = 0; p < 2; ++p) {
      const double flops = 2.0 * static_cast<double>(shape.rows * shape.cols * kPrefillTokens);
      const double seconds = BestSeconds(weight, kPrefillTokens, pools[p]);
      std::printf(", \"gflop_per_s_%s\": %.1f", p ? "2_threads" : "1_thread",
                  flops / seconds / 1e9);
    }
    std::printf("}\n");
  }
  return 0;
}

}  // namespace
}  // namespace snug::bench

int main(int argc, char** argv) { return snug::bench::Main(argc, argv); }
