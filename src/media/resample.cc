// Band-limited resampling by a Kaiser-windowed sinc, the textbook method (J. O. Smith,
// "Digital Audio Resampling"; libsamplerate and torchaudio use the same form).
//
// Each output sample at input time t is Σ_k x[k]·h(t − k) with h(d) = c·sinc(c·d)·w(c·d / Z):
// c = min(1, to/from)·kRolloff puts the cutoff just under the lower Nyquist frequency (the
// anti-aliasing filter when downsampling, the anti-imaging filter when upsampling), Z zero
// crossings on each side, w a Kaiser window with β = 8.6 (stopband about −86 dB). With Z = 32
// and the rolloff 0.92, 48 kHz → 16 kHz passes 0–7.3 kHz and stops above ~8 kHz. h is read
// from a table of kTableSteps points per zero crossing, linearly interpolated (error ~1e-6
// per tap); positions are exact rationals (n·from/to), so no drift accumulates, and outputs of
// one phase share precomputed weights.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <numbers>

#include "media/audio.h"

namespace snug::media {
namespace {

constexpr int kZeroCrossings = 32;
constexpr double kRolloff = 0.92;
constexpr double kKaiserBeta = 8.6;
constexpr int kTableSteps = 512;

// sinc(u)·w(u/Z) for u = i / kTableSteps, i in [0, Z·kTableSteps], plus one zero past the end.
std::vector<float> KernelTable() {
  std::vector<float> table(kZeroCrossings * kTableSteps + 2, 0.0f);
  const double norm = std::cyl_bessel_i(0.0, kKaiserBeta);
  for (int i = 0; i <= kZeroCrossings * kTableSteps; ++i) {
    const double u = static_cast<double>(i) / kTableSteps;
    const double sinc = i == 0 ? 1.0 : std::sin(std::numbers::pi * u) / (std::numbers::pi * u);
    const double x = u / kZeroCrossings;
    const double window = std::cyl_bessel_i(0.0, kKaiserBeta * std::sqrt(std::max(0.0, 1 - x * x)));
    table[i] = static_cast<float>(sinc * window / norm);
  }
  return table;
}

}  // namespace

std::vector<float> Resample(std::span<const float> samples, int from_rate, int to_rate) {
  CHECK(from_rate > 0 && to_rate > 0);
  if (from_rate == to_rate) return {samples.begin(), samples.end()};
  const int64_t divisor = std::gcd(from_rate, to_rate);
  const int64_t from = from_rate / divisor;  // output n sits at input time n·from/to
  const int64_t to = to_rate / divisor;
  const int64_t count = static_cast<int64_t>(samples.size());
  const int64_t out_count = (count * to + from - 1) / from;

  static const std::vector<float> table = KernelTable();  // immutable once built
  const double cutoff = std::min(1.0, static_cast<double>(to_rate) / from_rate) * kRolloff;
  const double half_width = kZeroCrossings / cutoff;  // in input samples
  const double steps = cutoff * kTableSteps;          // table steps per input sample
  const int64_t table_end = kZeroCrossings * kTableSteps;
  auto kernel = [&](double distance) {  // h(d) / cutoff
    const double position = std::abs(distance) * steps;
    const int64_t index = static_cast<int64_t>(position);
    if (index >= table_end) return 0.0;
    const double frac = position - index;
    return table[index] + frac * (table[index + 1] - table[index]);
  };

  // Output n has phase (n·from mod to)/to past input sample k0 = n·from div to, and every output
  // of one phase takes the same weights from the same offsets. The common rates have few phases
  // (48 kHz: 1, 44.1 kHz: 160), so the weights are computed once per phase; a rate with too many
  // phases × taps for a small table reads the kernel per tap instead.
  const int64_t first_offset = static_cast<int64_t>(std::floor(-half_width));
  const int64_t taps = static_cast<int64_t>(std::ceil(2 * half_width)) + 2;
  const bool polyphase = to * taps <= (int64_t{1} << 21);
  std::vector<float> weights(polyphase ? to * taps : 0, 0.0f);  // [phase, tap]
  if (polyphase) {
    for (int64_t phase = 0; phase < to; ++phase) {
      for (int64_t j = 0; j < taps; ++j) {
        // Input k0 + first_offset + j is this far from the output's time k0 + phase/to.
        const double distance = static_cast<double>(phase) / to - (first_offset + j);
        weights[phase * taps + j] = static_cast<float>(kernel(distance) * cutoff);
      }
    }
  }

  std::vector<float> out(out_count);
  for (int64_t n = 0; n < out_count; ++n) {
    const int64_t numerator = n * from;
    const int64_t k0 = numerator / to;
    const int64_t phase = numerator % to;
    const int64_t base = k0 + first_offset;  // input index of tap 0
    const int64_t begin = std::max<int64_t>(0, -base);
    const int64_t end = std::min<int64_t>(taps, count - base);
    double sum = 0;
    if (polyphase) {
      const float* w = &weights[phase * taps];
      for (int64_t j = begin; j < end; ++j) sum += samples[base + j] * w[j];
    } else {
      const double t = k0 + static_cast<double>(phase) / to;
      for (int64_t j = begin; j < end; ++j) sum += samples[base + j] * kernel(t - (base + j));
      sum *= cutoff;
    }
    out[n] = static_cast<float>(sum);
  }
  return out;
}

}  // namespace snug::media
