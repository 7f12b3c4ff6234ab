// Scalar twins of the kernels: plain loops written to mirror the formulas of specs/models.md
// (§6 for block layouts, the common primitives at its top) and ggml's dequantize_row_* exactly.
// They are the ground truth of the tests, so clarity wins over speed here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/kernels.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels::reference {
namespace {

// 2^(e-128), the half of an E8M0 scale that pairs with kE2M1x2 (ggml_e8m0_to_fp32_half).
// e = 0 and 1 give the subnormals 2^-128 and 2^-127, built from bits as ggml does.
float E8M0Half(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// The 6-bit scale and min of sub-block `s` (0..7) of a Q4_K / Q5_K super-block (§6.3).
void ScaleMinK4(int s, const uint8_t* scales, int* scale, int* min) {
  if (s < 4) {
    *scale = scales[s] & 63;
    *min = scales[s + 4] & 63;
  } else {
    *scale = (scales[s + 4] & 0xF) | ((scales[s - 4] >> 6) << 4);
    *min = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
  }
}

template <class Block>
const Block* Blocks(const void* src) {
  return static_cast<const Block*>(src);
}

void DequantizeQ4_0(const BlockQ4_0* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((blocks[i].qs[j] & 0xF) - 8) * d;
      y[j + kQK / 2] = static_cast<float>((blocks[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void DequantizeQ4_1(const BlockQ4_1* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    const float m = F16ToF32(blocks[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(blocks[i].qs[j] & 0xF) * d + m;
      y[j + kQK / 2] = static_cast<float>(blocks[i].qs[j] >> 4) * d + m;
    }
  }
}

// Q5_0 / Q5_1: qh is a little-endian u32 whose bit j is the 5th bit of element j (j < 32).
uint32_t HighBits(const uint8_t qh[4]) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
         static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
}

void DequantizeQ5_0(const BlockQ5_0* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    const uint32_t qh = HighBits(blocks[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int high0 = ((qh >> j) & 1) << 4;
      const int high1 = ((qh >> (j + 16)) & 1) << 4;
      y[j] = static_cast<float>(((blocks[i].qs[j] & 0xF) | high0) - 16) * d;
      y[j + kQK / 2] = static_cast<float>(((blocks[i].qs[j] >> 4) | high1) - 16) * d;
    }
  }
}

void DequantizeQ5_1(const BlockQ5_1* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    const float m = F16ToF32(blocks[i].m);
    const uint32_t qh = HighBits(blocks[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int high0 = ((qh >> j) & 1) << 4;
      const int high1 = ((qh >> (j + 16)) & 1) << 4;
      y[j] = static_cast<float>((blocks[i].qs[j] & 0xF) | high0) * d + m;
      y[j + kQK / 2] = static_cast<float>((blocks[i].qs[j] >> 4) | high1) * d + m;
    }
  }
}

void DequantizeQ8_0(const BlockQ8_0* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(blocks[i].qs[j]) * d;
  }
}

void DequantizeQ8_1(const BlockQ8_1* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(blocks[i].qs[j]) * d;
  }
}

void DequantizeQ8_K(const BlockQ8_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK_K) {
    for (int j = 0; j < kQK_K; ++j) y[j] = blocks[i].d * static_cast<float>(blocks[i].qs[j]);
  }
}

void DequantizeQ4_K(const BlockQ4_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    const float dmin = F16ToF32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32, y += 64) {
      int scale, min;
      ScaleMinK4(2 * chunk, blocks[i].scales, &scale, &min);
      const float d1 = d * static_cast<float>(scale);
      const float m1 = dmin * static_cast<float>(min);
      ScaleMinK4(2 * chunk + 1, blocks[i].scales, &scale, &min);
      const float d2 = d * static_cast<float>(scale);
      const float m2 = dmin * static_cast<float>(min);
      for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void DequantizeQ5_K(const BlockQ5_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    const float dmin = F16ToF32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    const uint8_t* qh = blocks[i].qh;  // indexed by l; bit 2c / 2c+1 belongs to chunk c
    for (int chunk = 0; chunk < 4; ++chunk, q += 32, y += 64) {
      int scale, min;
      ScaleMinK4(2 * chunk, blocks[i].scales, &scale, &min);
      const float d1 = d * static_cast<float>(scale);
      const float m1 = dmin * static_cast<float>(min);
      ScaleMinK4(2 * chunk + 1, blocks[i].scales, &scale, &min);
      const float d2 = d * static_cast<float>(scale);
      const float m2 = dmin * static_cast<float>(min);
      const uint8_t mask1 = static_cast<uint8_t>(1u << (2 * chunk));
      const uint8_t mask2 = static_cast<uint8_t>(2u << (2 * chunk));
      for (int l = 0; l < 32; ++l) {
        y[l] = d1 * static_cast<float>((q[l] & 0xF) + ((qh[l] & mask1) ? 16 : 0)) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        y[32 + l] = d2 * static_cast<float>((q[l] >> 4) + ((qh[l] & mask2) ? 16 : 0)) - m2;
      }
    }
  }
}

void DequantizeQ6_K(const BlockQ6_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    for (int half = 0; half < 2; ++half, y += 128) {
      const uint8_t* ql = blocks[i].ql + 64 * half;
      const uint8_t* qh = blocks[i].qh + 32 * half;
      const int8_t* sc = blocks[i].scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int k = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // (d·scale)·q, in ggml's order of operations.
        y[l] = d * static_cast<float>(sc[k]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[k + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[k + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[k + 6]) * static_cast<float>(q4);
      }
    }
  }
}

// ggml dequantize_row_q2_K: per 128 values, 4 shifts × 2 sub-blocks of 16 from 32 bytes.
void DequantizeQ2_K(const BlockQ2_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    const float dmin = F16ToF32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    int is = 0;
    for (int n = 0; n < kQK_K; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = blocks[i].scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) {
            *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

// The 16 six-bit scales of Q3_K, less 32 (ggml's kmask shuffle, per scale).
void ScalesQ3_K(const uint8_t* sc, int* scales) {
  for (int s = 0; s < 16; ++s) {
    const int low = s < 8 ? sc[s] & 0xF : sc[s - 8] >> 4;
    const int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    scales[s] = (low | (high << 4)) - 32;
  }
}

void DequantizeQ3_K(const BlockQ3_K* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    int scales[16];
    ScalesQ3_K(blocks[i].scales, scales);
    const uint8_t* q = blocks[i].qs;
    const uint8_t* hm = blocks[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < kQK_K; n += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1)) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d * static_cast<float>(scales[is++]);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            *y++ = dl * static_cast<float>(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
          }
        }
      }
    }
  }
}

void DequantizeIQ4_NL(const BlockIQ4_NL* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = F16ToF32(blocks[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(kIQ4NLValues[blocks[i].qs[j] & 0xF]);
      y[j + kQK / 2] = d * static_cast<float>(kIQ4NLValues[blocks[i].qs[j] >> 4]);
    }
  }
}

void DequantizeIQ4_XS(const BlockIQ4_XS* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i) {
    const float d = F16ToF32(blocks[i].d);
    for (int ib = 0; ib < kQK_K / 32; ++ib, y += 32) {
      const int ls = ((blocks[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                     (((blocks[i].scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* qs = blocks[i].qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kIQ4NLValues[qs[j] & 0xF]);
        y[j + 16] = dl * static_cast<float>(kIQ4NLValues[qs[j] >> 4]);
      }
    }
  }
}

void DequantizeMXFP4(const BlockMXFP4* blocks, float* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const float d = E8M0Half(blocks[i].e);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(kE2M1x2[blocks[i].qs[j] & 0xF]) * d;
      y[j + kQK / 2] = static_cast<float>(kE2M1x2[blocks[i].qs[j] >> 4]) * d;
    }
  }
}

// An MLX group parameter (scale or bias) as f32: bf16, f16 or f32 in the checkpoint.
float GroupValue(DType scale_dtype, const uint8_t* row, int64_t index) {
  if (scale_dtype == DType::kF32) {
    float value;
    std::memcpy(&value, row + 4 * index, 4);
    return value;
  }
  uint16_t half;
  std::memcpy(&half, row + 2 * index, 2);
  return scale_dtype == DType::kF16 ? F16ToF32(half) : Bf16ToF32(half);
}

// Code i of an MLX row: bits [i·bits, (i+1)·bits) of the row's little-endian bit stream
// (specs/models.md §1.3), read a byte at a time.
int MlxCode(const uint8_t* row, int64_t i, int bits) {
  int code = 0;
  for (int k = 0; k < bits; ++k) {
    const int64_t bit = i * bits + k;
    code |= ((row[bit / 8] >> (bit % 8)) & 1) << k;
  }
  return code;
}

void DequantizeMlx(const TensorView& weight, int64_t row, float* dst) {
  const GroupParams& groups = weight.groups;
  CHECK(groups.scales != nullptr && groups.group_size > 0) << Name(weight.dtype) << " without scales";
  const int bits = MlxBits(weight.dtype);
  const uint8_t* codes = weight.row(row);
  const uint8_t* scales = weight.scale_row(row);
  for (int64_t i = 0; i < weight.cols(); ++i) {
    const int64_t group = i / groups.group_size;
    const int code = MlxCode(codes, i, bits);
    if (weight.dtype == DType::kMlxMXFP4) {  // E2M1 · 2^(e−127) = kE2M1x2 · 2^(e−128)
      dst[i] = static_cast<float>(kE2M1x2[code]) * E8M0Half(scales[group]);
    } else {
      CHECK(groups.biases != nullptr) << Name(weight.dtype) << " without biases";
      dst[i] = GroupValue(groups.scale_dtype, scales, group) * static_cast<float>(code) +
               GroupValue(groups.scale_dtype, weight.bias_row(row), group);
    }
  }
}

}  // namespace

void DequantizeRow(const TensorView& weight, int64_t row, float* dst) {
  if (IsMlx(weight.dtype)) return DequantizeMlx(weight, row, dst);
  DequantizeRow(weight.dtype, weight.row(row), dst, weight.cols());
}

void DequantizeRow(DType type, const void* src, float* dst, int64_t elements) {
  const int block_elements = Info(type).block_elements;
  CHECK(elements % block_elements == 0)
      << Name(type) << ": " << elements << " is not a multiple of " << block_elements;
  const int64_t num_blocks = elements / block_elements;
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(elements) * sizeof(float));
      return;
    case DType::kF16: {
      const uint16_t* halves = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < elements; ++i) dst[i] = F16ToF32(halves[i]);
      return;
    }
    case DType::kBF16: {
      const uint16_t* halves = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < elements; ++i) dst[i] = Bf16ToF32(halves[i]);
      return;
    }
    case DType::kQ4_0:
      return DequantizeQ4_0(Blocks<BlockQ4_0>(src), dst, num_blocks);
    case DType::kQ4_1:
      return DequantizeQ4_1(Blocks<BlockQ4_1>(src), dst, num_blocks);
    case DType::kQ5_0:
      return DequantizeQ5_0(Blocks<BlockQ5_0>(src), dst, num_blocks);
    case DType::kQ5_1:
      return DequantizeQ5_1(Blocks<BlockQ5_1>(src), dst, num_blocks);
    case DType::kQ8_0:
      return DequantizeQ8_0(Blocks<BlockQ8_0>(src), dst, num_blocks);
    case DType::kQ8_1:
      return DequantizeQ8_1(Blocks<BlockQ8_1>(src), dst, num_blocks);
    case DType::kQ4_K:
      return DequantizeQ4_K(Blocks<BlockQ4_K>(src), dst, num_blocks);
    case DType::kQ5_K:
      return DequantizeQ5_K(Blocks<BlockQ5_K>(src), dst, num_blocks);
    case DType::kQ6_K:
      return DequantizeQ6_K(Blocks<BlockQ6_K>(src), dst, num_blocks);
    case DType::kQ8_K:
      return DequantizeQ8_K(Blocks<BlockQ8_K>(src), dst, num_blocks);
    case DType::kMXFP4:
      return DequantizeMXFP4(Blocks<BlockMXFP4>(src), dst, num_blocks);
    case DType::kQ2_K:
      return DequantizeQ2_K(Blocks<BlockQ2_K>(src), dst, num_blocks);
    case DType::kQ3_K:
      return DequantizeQ3_K(Blocks<BlockQ3_K>(src), dst, num_blocks);
    case DType::kIQ4_NL:
      return DequantizeIQ4_NL(Blocks<BlockIQ4_NL>(src), dst, num_blocks);
    case DType::kIQ4_XS:
      return DequantizeIQ4_XS(Blocks<BlockIQ4_XS>(src), dst, num_blocks);
    default:
      break;
  }
  CHECK(false) << "DequantizeRow: unsupported type " << Name(type);
}

void MatMul(const TensorView& weight, const float* x, int64_t num_tokens, float* y) {
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  std::vector<float> row_values(static_cast<size_t>(cols));  // [cols]
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRow(weight, r, row_values.data());
    for (int64_t t = 0; t < num_tokens; ++t) {
      // Double accumulation: the reference should carry no rounding error of its own.
      double sum = 0.0;
      const float* x_row = x + t * cols;
      for (int64_t c = 0; c < cols; ++c) {
        sum += static_cast<double>(row_values[c]) * static_cast<double>(x_row[c]);
      }
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

void RmsNorm(const float* x, const float* weight, float eps, int64_t n, float* y) {
  double sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const float scale =
      static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) {
    y[i] = weight != nullptr ? x[i] * scale * weight[i] : x[i] * scale;
  }
}

void LayerNorm(const float* x, const float* weight, const float* bias, float eps, int64_t n,
               float* y) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
  const double scale = 1.0 / std::sqrt(squares / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>((x[i] - mean) * scale * weight[i] + bias[i]);
  }
}

void Softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inverse = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inverse;
}

void GeluTanh(const float* x, float* y, int64_t n) {
  const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] =
        static_cast<float>(0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v))));
  }
}

void Silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
  }
}

void Add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void Mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void Scale(const float* x, float factor, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * factor;
}

void RopeNeox(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
              const float* sin) {
  CHECK(rotary_dims % 2 == 0 && rotary_dims <= head_dim);
  const int half = rotary_dims / 2;
  for (int h = 0; h < num_heads; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = head[i];
      const float b = head[i + half];
      head[i] = a * cos[i] - b * sin[i];
      head[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

void RopeInterleaved(float* x, int num_heads, int head_dim, int rotary_dims, const float* cos,
                     const float* sin) {
  CHECK(rotary_dims % 2 == 0 && rotary_dims <= head_dim);
  const int half = rotary_dims / 2;
  for (int h = 0; h < num_heads; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = head[2 * i];
      const float b = head[2 * i + 1];
      head[2 * i] = a * cos[i] - b * sin[i];
      head[2 * i + 1] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace snug::kernels::reference
