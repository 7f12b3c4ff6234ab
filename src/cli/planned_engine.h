// What `snug plan`, `snug serve` and `snug bench` share: the memory-plan flags, the plan for a
// model file decided from its metadata before any weight is read, and the engine started to
// that plan (its context, sequences and batch) — so `snug plan` with the same flags shows
// exactly what `serve` and `bench` will run. Printing the plan lives in memory/plan_format.h.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/engine.h"
#include "media/image.h"
#include "memory/plan.h"
#include "tokenizer/tokenizer.h"

namespace snug::cli {

struct PlanFlags {
  std::string memory;   // --memory: the budget ("16GiB"); empty: from the machine
  std::string reserve;  // --reserve: left to the OS when the budget is the machine's
  KvType kv_type = KvType::kF16;
  int context_tokens = 0;  // --ctx: caps the context per request; 0: as large as fits
  int min_context_tokens = 4096;
  int parallel = 0;  // --parallel: exactly this many sequences; 0: as many as fit (≤ 4)
  int batch_tokens = 512;
  int max_image_tokens = 280;  // --max-image-tokens (models that take images)
  int threads = 0;  // 0: one per core
  bool mlock = false;  // --mlock: lock the weights in RAM
};

// Registers --memory, --reserve, --kv-type, --ctx, --min-ctx, --parallel,
// --batch-tokens, --max-image-tokens, -t/--threads and --mlock on `command`.
void AddPlanFlags(CLI::App& command, PlanFlags& flags);

// -t 0 means one thread per core.
int ResolveThreads(int threads);

// `snug serve`'s defaults, which `snug plan` assumes too.
inline constexpr int kDefaultMaxQueue = 64;
// A 128k-token prompt as JSON token ids (≤ 7 bytes each) or as text (~4 bytes a token) is under
// 1 MiB; every connection may hold one body and its parsed JSON, and the plan counts them all.
inline constexpr int64_t kDefaultMaxBodyBytes = 2 << 20;

// Decoded images and audio all requests hold at once (--media-budget).
inline constexpr int64_t kDefaultMediaBudgetBytes = int64_t{256} << 20;
// The server's media memory: the budget of decoded media, plus the peak of decoding one image
// (decoding is one at a time; RGB bytes and the resize's passes, ~7 bytes a pixel of the largest
// image --max-image-pixels admits).
inline int64_t MediaBytes(int64_t budget_bytes, int64_t max_image_pixels) {
  return budget_bytes + 7 * max_image_pixels;
}

// What a server in front of the engine holds besides it (the plan counts its buffers).
struct ServingFigures {
  int max_queue = kDefaultMaxQueue;               // requests waiting for a slot
  int64_t max_body_bytes = kDefaultMaxBodyBytes;  // the largest request body; 0: no HTTP server
  int extra_connections = 8;  // connections beyond running + queued (probes, metrics, 429s)
  // Decoded media held by requests and the image being decoded (MediaBytes), for models that
  // take images or audio.
  int64_t media_bytes = MediaBytes(kDefaultMediaBudgetBytes, media::ImageLimits().max_pixels);
};

// The HTTP connections a server needs for `sequences` running requests: one per running or
// queued request, plus the extra ones.
int HttpConnections(int sequences, const ServingFigures& serving);

struct PlannedModel {
  memory::ModelFacts facts;
  memory::PlanOptions options;
  memory::MemoryPlan plan;
};

// Reads the file's metadata and plans it for the flags and the budget (the flags' or the
// machine's). Errors: an unreadable file, a bad size or KV type, no budget.
Result<PlannedModel> PlanModel(const std::string& path, const PlanFlags& flags,
                               const ServingFigures& serving);

// The plan's table, the settings that fit and what would make it fit: what `snug plan` prints,
// and what `serve` and `bench` print when they refuse to start.
std::string FormatPlanReport(const PlannedModel& planned);

// The plan in one log line: tenants, total, budget, headroom, context and sequences.
std::string PlanSummaryLine(const memory::MemoryPlan& plan);
// The plan as Prometheus gauges for /metrics: bytes per tenant, total, budget, headroom,
// context and sequences.
std::string PlanMetrics(const memory::MemoryPlan& plan);

// The engine's options from the plan: its context, sequences and batch; the flags do not
// override them (they already capped the plan).
EngineOptions EngineOptionsFor(const memory::MemoryPlan& plan, int max_queue);

struct StartedEngine {
  std::unique_ptr<Engine> engine;
  tokenizer::Tokenizer tokenizer;  // shares the engine's tables
};

// Loads the model and starts the engine to the plan. `pool` runs the forward passes and must
// outlive the engine. Errors name the step that failed.
Result<StartedEngine> StartPlannedEngine(const std::string& path, const PlannedModel& planned,
                                         int max_queue, ThreadPool& pool);

}  // namespace snug::cli
