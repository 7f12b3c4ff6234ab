// Prefill cost of one image on a model that embeds images (Gemma 4 12B unified): prints JSON with
// the milliseconds of one Forward over [<|image>, N soft tokens, <image|>] (embedders + decoder,
// one chunk) beside the same number of text tokens, so the difference is the embedders' share,
// and the process's peak memory. Run it on `snug make-model gemma4-12b-unified --type q4_0`
// (with --layers L to scale the decoder down; the time per layer is linear).
//   image_prefill_bench MODEL.gguf [SOFT_TOKENS=280] [THREADS=2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "base/process_memory.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "kv/kv_cache.h"
#include "models/model.h"

int main(int argc, char** argv) {
  using namespace snug;
  if (argc < 2) {
    std::fprintf(stderr, "usage: image_prefill_bench MODEL.gguf [SOFT_TOKENS] [THREADS]\n");
    return 2;
  }
  const int soft_tokens = argc > 2 ? std::atoi(argv[2]) : 280;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  Result<gguf::File> opened = gguf::File::Open(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto file = std::make_shared<const gguf::File>(std::move(*opened));
  ThreadPool pool(threads);
  const int tokens = soft_tokens + 2;
  Result<std::unique_ptr<Model>> loaded = LoadModel(file, {.batch_tokens = tokens}, pool);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  Model& model = **loaded;
  const MediaSpec& media = model.spec().media;
  if (!media.images()) {
    std::fprintf(stderr, "image_prefill_bench: the model takes no images\n");
    return 1;
  }
  // A grid as close to square as the soft tokens allow (280 = 14 × 20).
  int rows = 1;
  for (int r = 1; r * r <= soft_tokens; ++r) {
    if (soft_tokens % r == 0) rows = r;
  }
  media::PatchGrid grid{.rows = rows, .cols = soft_tokens / rows, .patch_px = media.image_patch_px};
  grid.values.resize(static_cast<size_t>(soft_tokens) * grid.patch_values());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  for (float& v : grid.values) v = pixel(rng);

  auto kv = KvCache::Create(model.spec().KvLayers(),
                            {.slots = 1, .context_tokens = tokens, .batch_tokens = tokens});
  if (!kv.ok()) return 1;
  std::vector<int32_t> ids(tokens, 2), positions(tokens), slots(tokens, 0);
  std::iota(positions.begin(), positions.end(), 0);
  const std::vector<int32_t> last = {tokens - 1};
  std::vector<float> logits(model.spec().vocab_size);
  const BatchMedia image{
      .first_token = 1, .num_tokens = soft_tokens, .image = &grid, .bidirectional = true};
  auto time_ms = [&](std::span<const BatchMedia> with) {
    (*kv)->Clear(0);
    const auto start = std::chrono::steady_clock::now();
    model.Forward({ids, positions, slots, last, with}, **kv, logits.data());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  time_ms({});  // warm the pages of the weights
  const double text_ms = time_ms({});
  const double image_ms = time_ms(std::span<const BatchMedia>(&image, 1));
  std::printf(
      "{\"layers\": %zu, \"soft_tokens\": %d, \"grid\": \"%dx%d\", \"threads\": %d, "
      "\"image_prefill_ms\": %.1f, \"text_prefill_ms\": %.1f, \"embedders_ms\": %.1f, "
      "\"activation_bytes\": %zu, \"peak_rss_bytes\": %lld}\n",
      model.spec().layers.size(), soft_tokens, grid.rows, grid.cols, threads, image_ms, text_ms,
      image_ms - text_ms, model.activation_bytes(), static_cast<long long>(PeakRssBytes()));
  return 0;
}
