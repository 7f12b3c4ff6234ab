// Gemma 4 12B unified input path on gemma4-unified-tiny (f32): the image and audio embedders
// against a reference written here from specs/models.md §3.3-3.4 in double precision with
// plain loops; the forward pass with an image equals the same embeddings fed as rows; attention
// is bidirectional inside an image block and causal around it; an image prefilled as its own
// chunk equals one shot.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "media/media.h"
#include "models/model.h"

namespace snug {
namespace {

using test::Loaded;
using test::MaxRelativeDifference;
using test::WriteAndLoad;

constexpr int kBatchTokens = 32;

// An f32 tensor of the file, as doubles.
std::vector<double> Tensor(const gguf::File& file, const std::string& name) {
  const gguf::TensorInfo* tensor = file.FindTensor(name);
  CHECK(tensor != nullptr) << name;
  CHECK(tensor->view.dtype == DType::kF32) << name;
  const float* data = static_cast<const float*>(tensor->view.data);
  return std::vector<double>(data, data + tensor->view.elements());
}

std::vector<double> LayerNorm(const std::vector<double>& x, const std::vector<double>& weight,
                              const std::vector<double>& bias, double eps) {
  double mean = 0, variance = 0;
  for (double v : x) mean += v;
  mean /= x.size();
  for (double v : x) variance += (v - mean) * (v - mean);
  variance /= x.size();
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = (x[i] - mean) / std::sqrt(variance + eps) * weight[i] + bias[i];
  }
  return y;
}

std::vector<double> RmsNoScale(const std::vector<double>& x, double eps) {
  double squares = 0;
  for (double v : x) squares += v * v;
  const double scale = 1.0 / std::sqrt(squares / x.size() + eps);
  std::vector<double> y(x);
  for (double& v : y) v *= scale;
  return y;
}

// y = W x (+ b): W [rows, cols] row-major.
std::vector<double> Linear(const std::vector<double>& w, const std::vector<double>& x,
                           const std::vector<double>* bias = nullptr) {
  const size_t cols = x.size(), rows = w.size() / cols;
  std::vector<double> y(rows);
  for (size_t r = 0; r < rows; ++r) {
    double sum = bias != nullptr ? (*bias)[r] : 0.0;
    for (size_t c = 0; c < cols; ++c) sum += w[r * cols + c] * x[c];
    y[r] = sum;
  }
  return y;
}

// §3.3 for patch `index` of `grid`.
std::vector<double> ReferenceImageEmbedding(const gguf::File& file, const media::PatchGrid& grid,
                                            int index) {
  const int values = grid.patch_values();
  std::vector<double> patch(grid.values.begin() + index * values,
                            grid.values.begin() + (index + 1) * values);
  std::vector<double> u =
      LayerNorm(patch, Tensor(file, "v.patch_ln1.weight"), Tensor(file, "v.patch_ln1.bias"), 1e-5);
  const std::vector<double> dense_bias = Tensor(file, "v.patch_dense.bias");
  u = Linear(Tensor(file, "v.patch_dense.weight"), u, &dense_bias);
  u = LayerNorm(u, Tensor(file, "v.patch_ln2.weight"), Tensor(file, "v.patch_ln2.bias"), 1e-5);
  const std::vector<double> table = Tensor(file, "v.position_embd.weight");  // [N, 2, D]
  const size_t dim = u.size();
  const int x = index % grid.cols, y = index / grid.cols;
  for (size_t i = 0; i < dim; ++i)
    u[i] += table[(x * 2 + 0) * dim + i] + table[(y * 2 + 1) * dim + i];
  u = LayerNorm(u, Tensor(file, "v.pos_norm.weight"), Tensor(file, "v.pos_norm.bias"), 1e-5);
  return Linear(Tensor(file, "mm.input_projection.weight"), RmsNoScale(u, 1e-6));
}

// §3.4 for frame `index` of `clip`.
std::vector<double> ReferenceAudioEmbedding(const gguf::File& file, const media::AudioFrames& clip,
                                            int index) {
  std::vector<double> frame(clip.samples.begin() + index * clip.frame_samples,
                            clip.samples.begin() + (index + 1) * clip.frame_samples);
  return Linear(Tensor(file, "mm.a.input_projection.weight"), RmsNoScale(frame, 1e-6));
}

media::PatchGrid RandomGrid(int rows, int cols, uint32_t seed) {
  media::PatchGrid grid{.rows = rows, .cols = cols, .patch_px = 48};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  grid.values.resize(static_cast<size_t>(grid.soft_tokens()) * grid.patch_values());
  for (float& v : grid.values) v = pixel(rng);
  grid.hash = seed;
  return grid;
}

media::AudioFrames RandomClip(int frames, uint32_t seed) {
  media::AudioFrames clip{.frames = frames, .frame_samples = 640};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> sample(-1.0f, 1.0f);
  clip.samples.resize(static_cast<size_t>(frames) * 640);
  for (float& v : clip.samples) v = sample(rng);
  clip.hash = seed;
  return clip;
}

struct Pass {
  std::vector<float> logits;    // [tokens, vocab]
  std::vector<float> embedded;  // [tokens, model_dim] the rows entering layer 0
};

// Runs `tokens` as chunks [0, cut_1), [cut_1, cut_2), ... (positions from 0, slot 0, cleared
// first) with the media entries given by batch row over the whole prompt; each entry must lie in
// one chunk.
Pass Forward(Model& model, const std::vector<int32_t>& tokens, std::vector<BatchMedia> media,
             std::vector<int> cuts = {}) {
  const int vocab = model.spec().vocab_size, dim = model.spec().model_dim;
  auto kv = KvCache::Create(model.spec().KvLayers(),
                            {.slots = 1, .context_tokens = 64, .batch_tokens = kBatchTokens});
  CHECK(kv.ok());
  Pass run;
  run.logits.resize(tokens.size() * vocab);
  run.embedded.resize(tokens.size() * dim);
  cuts.push_back(static_cast<int>(tokens.size()));
  int begin = 0;
  for (const int end : cuts) {
    std::vector<int32_t> positions(end - begin), slots(end - begin, 0), rows(end - begin);
    std::iota(positions.begin(), positions.end(), begin);
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<BatchMedia> chunk_media;
    for (BatchMedia entry : media) {
      if (entry.first_token >= begin && entry.first_token < end) {
        CHECK_LE(entry.first_token + entry.num_tokens, end);
        entry.first_token -= begin;
        chunk_media.push_back(entry);
      }
    }
    model.set_observer([&](std::string_view name, int, const TensorView& view) {
      if (name != "inp_embd") return;
      const float* data = static_cast<const float*>(view.data);
      std::copy(data, data + (end - begin) * dim, run.embedded.begin() + begin * dim);
    });
    Batch batch{std::span<const int32_t>(tokens.data() + begin, end - begin), positions, slots,
                rows, chunk_media};
    model.Forward(batch, **kv, run.logits.data() + static_cast<size_t>(begin) * vocab);
    begin = end;
  }
  model.set_observer({});
  return run;
}

std::vector<float> Rows(const std::vector<float>& values, int first, int count, int width) {
  return std::vector<float>(values.begin() + static_cast<size_t>(first) * width,
                            values.begin() + static_cast<size_t>(first + count) * width);
}

class Gemma4MediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = WriteAndLoad("gemma4-unified-tiny", DType::kF32, pool_, kBatchTokens);
  }
  Model& model() { return *loaded_.model; }
  const gguf::File& file() { return *loaded_.file; }
  // Text, a 2×3 image (rows 2..7), text: 10 tokens.
  std::vector<int32_t> Prompt() { return {2, 40, 0, 0, 0, 0, 0, 0, 41, 42}; }

  ThreadPool pool_{2};
  Loaded loaded_;
};

TEST_F(Gemma4MediaTest, SpecNamesTheMediaAndTextModelsHaveNone) {
  const MediaSpec& media = model().spec().media;
  EXPECT_EQ(media.image_patch_px, 48);
  EXPECT_EQ(media.image_positions, 1120);
  EXPECT_EQ(media.image_embed_dim, 64);
  EXPECT_EQ(media.audio_frame_samples, 640);
  ThreadPool pool(1);
  Loaded text = WriteAndLoad("gemma4-tiny", DType::kF32, pool, kBatchTokens);
  EXPECT_FALSE(text.model->spec().media.images());
  EXPECT_FALSE(text.model->spec().media.audio());
}

TEST_F(Gemma4MediaTest, ImageEmbeddingsMatchTheReferenceUnscaled) {
  const media::PatchGrid grid = RandomGrid(2, 3, 7);
  const Pass run =
      Forward(model(), Prompt(),
              {{.first_token = 2, .num_tokens = 6, .image = &grid, .bidirectional = true}});
  const int dim = model().spec().model_dim;
  double worst = 0;
  for (int p = 0; p < 6; ++p) {
    const std::vector<double> expected = ReferenceImageEmbedding(file(), grid, p);
    double scale = 0;
    for (double v : expected) scale = std::max(scale, std::abs(v));
    for (int i = 0; i < dim; ++i) {
      worst = std::max(worst, std::abs(run.embedded[(2 + p) * dim + i] - expected[i]) / scale);
    }
  }
  std::printf("image embedding max relative error %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
}

TEST_F(Gemma4MediaTest, AudioEmbeddingsMatchTheReferenceAcrossChunks) {
  const media::AudioFrames clip = RandomClip(5, 9);
  std::vector<int32_t> prompt = {2, 40, 0, 0, 0, 0, 0, 41};
  // Audio is causal, so a clip may be split: frames 0-2 in the first chunk, 3-4 in the second.
  const Pass run =
      Forward(model(), prompt,
              {{.first_token = 2, .num_tokens = 3, .audio = &clip},
               {.first_token = 5, .num_tokens = 2, .first_item_token = 3, .audio = &clip}},
              {5});
  const int dim = model().spec().model_dim;
  double worst = 0;
  for (int f = 0; f < 5; ++f) {
    const std::vector<double> expected = ReferenceAudioEmbedding(file(), clip, f);
    double scale = 0;
    for (double v : expected) scale = std::max(scale, std::abs(v));
    for (int i = 0; i < dim; ++i) {
      worst = std::max(worst, std::abs(run.embedded[(2 + f) * dim + i] - expected[i]) / scale);
    }
  }
  std::printf("audio embedding max relative error %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
}

TEST_F(Gemma4MediaTest, ImageForwardEqualsItsEmbeddingsThroughTheTextPath) {
  const media::PatchGrid grid = RandomGrid(2, 3, 7);
  const Pass image =
      Forward(model(), Prompt(),
              {{.first_token = 2, .num_tokens = 6, .image = &grid, .bidirectional = true}});
  const int dim = model().spec().model_dim;
  const std::vector<float> soft = Rows(image.embedded, 2, 6, dim);
  const Pass rows = Forward(
      model(), Prompt(),
      {{.first_token = 2, .num_tokens = 6, .embeddings = soft.data(), .bidirectional = true}});
  EXPECT_EQ(image.logits, rows.logits);
  // The image as its own chunk between two text chunks: the same within rounding.
  const Pass chunked =
      Forward(model(), Prompt(),
              {{.first_token = 2, .num_tokens = 6, .image = &grid, .bidirectional = true}}, {2, 8});
  EXPECT_LT(MaxRelativeDifference(image.logits, chunked.logits), 1e-4);
}

TEST_F(Gemma4MediaTest, AttentionIsBidirectionalInsideAnImageAndCausalAroundIt) {
  const int vocab = model().spec().vocab_size;
  const media::PatchGrid grid = RandomGrid(2, 3, 7);
  media::PatchGrid changed = grid;
  const int values = grid.patch_values();
  for (int i = 0; i < values; ++i)
    changed.values[4 * values + i] = 1.0f - grid.values[4 * values + i];
  auto run = [&](const media::PatchGrid& g, bool bidirectional, std::vector<int32_t> prompt) {
    return Forward(
               model(), prompt,
               {{.first_token = 2, .num_tokens = 6, .image = &g, .bidirectional = bidirectional}})
        .logits;
  };
  const std::vector<float> base = run(grid, true, Prompt());
  const std::vector<float> later_patch = run(changed, true, Prompt());
  // Patch 4 (row 6) changed: patch 1 (row 3), before it, sees it; the text before does not.
  EXPECT_EQ(Rows(base, 0, 2, vocab), Rows(later_patch, 0, 2, vocab));
  EXPECT_GT(MaxRelativeDifference(Rows(base, 3, 1, vocab), Rows(later_patch, 3, 1, vocab)), 1e-3);
  // Causal rows (as audio is) would not see it.
  EXPECT_EQ(Rows(run(grid, false, Prompt()), 3, 1, vocab),
            Rows(run(changed, false, Prompt()), 3, 1, vocab));
  // Text after the image stays causal: changing it changes no earlier row.
  std::vector<int32_t> other_tail = Prompt();
  other_tail[9] = 43;
  const std::vector<float> tail = run(grid, true, other_tail);
  EXPECT_EQ(Rows(base, 0, 9, vocab), Rows(tail, 0, 9, vocab));
  EXPECT_NE(Rows(base, 9, 1, vocab), Rows(tail, 9, 1, vocab));
}

}  // namespace
}  // namespace snug
