// Private to kernels/quantize*.cc: what ggml's quantizers (quantize.cc) and MLX's
// (quantize_mlx.cc) share.
#pragma once

#include <cmath>

#include "tensor/blocks.h"

namespace snug::kernels::internal {

// Nearest of the doubled E2M1 grid times d; ties keep the lower index (so ±0 → +0), as ggml.
inline int NearestE2M1(float x, float d) {
  int best = 0;
  float best_error = std::fabs(static_cast<float>(kE2M1x2[0]) * d - x);
  for (int i = 1; i < 16; ++i) {
    const float error = std::fabs(static_cast<float>(kE2M1x2[i]) * d - x);
    if (error < best_error) {
      best = i;
      best_error = error;
    }
  }
  return best;
}

}  // namespace snug::kernels::internal
