// The memory plan: a pure function from a model's facts (spec and tensor sizes, read from the
// file's metadata alone), the options and a budget to exact byte counts for every tenant —
// weights, KV cache, activation arena, logits, prefix cache, runtime overheads — and from them
// the longest context one request may use and how many sequences run at once. If one sequence
// of the minimum context does not fit, the plan says so and what would make it fit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "kv/kv_cache.h"
#include "memory/budget.h"
#include "models/model.h"
#include "tensor/dtype.h"

namespace snug::memory {

// A weight matrix the forward pass multiplies by (its type and row length size the scratch).
struct ProjectionShape {
  DType dtype = DType::kF32;
  int64_t cols = 0;
};

struct TokenizerFacts {
  int64_t tokens = 0;      // tokenizer.ggml.tokens entries
  int64_t text_bytes = 0;  // bytes of all token texts
  int64_t merges = 0;      // tokenizer.ggml.merges entries
};

// What the plan needs to know about a model; ReadModelFacts gets it from a GGUF without
// touching the weights.
struct ModelFacts {
  ModelSpec spec;
  int64_t weight_bytes = 0;    // every tensor's bytes: mapped from the file (page cache)
  int64_t repacked_bytes = 0;  // copies made at load: none in snug today
  // Weights if every matrix whose rows allow it were q4_0 (for "a smaller weight type").
  int64_t q4_0_weight_bytes = 0;
  std::vector<ProjectionShape> projections;
  TokenizerFacts tokenizer;
};

Result<ModelFacts> ReadModelFacts(const gguf::File& file);

struct PlanOptions {
  std::optional<int> context_tokens;  // --ctx: caps the per-request context
  int min_context_tokens = 4096;      // --min-ctx (the model's maximum if smaller)
  std::optional<int> parallel;        // --parallel: sequences at once, exactly
  KvType kv_type = KvType::kF16;
  int batch_tokens = 512;  // the largest prefill chunk
  // --max-image-tokens: the largest image (soft tokens) a request may hold, for a model that
  // embeds images. An image is prefilled in one chunk (its attention is bidirectional), so the
  // plan raises batch_tokens to hold it beside every sequence's decode token.
  int max_image_tokens = 280;
  int threads = 1;         // compute threads (resolved, not 0)
  // --mlock: the weights' pages are locked in RAM. The plan counts them either way; locked,
  // memory pressure can no longer evict them (and re-read them mid-answer).
  bool lock_weights = false;
  // Memory of the prefix cache's own. None today: the engine keeps cached prefixes in the KV
  // slots of finished sequences (engine.h), which the KV cache tenant already counts.
  int64_t prefix_cache_bytes = 0;
  int http_connections = 8;          // HTTP worker threads (requests handled at once)
  int64_t max_body_bytes = 2 << 20;  // the largest request body the server accepts
  // All request bodies at once draw from one budget (server/body_budget.h) of at least
  // max_body_bytes; open connections are capped, each holding at most a request head.
  int64_t http_body_budget_bytes = 16 << 20;
  // All non-streamed answers at once draw from one budget (ServerOptions::response_budget_bytes,
  // in the server's estimate of what an answer holds until it is sent).
  int64_t http_response_budget_bytes = 16 << 20;
  // Decoded images and audio the server holds for requests at once (--media-budget) plus the
  // one being decoded; counted only for a model with an image or audio input path.
  int64_t http_media_bytes = 0;
  int http_max_connections = 512;
  int max_queue = 64;  // requests waiting for a slot
};

// The default shape of the KV pool serves a LAN of agents: up to kDefaultMaxSequences
// sequences at once, each with at least kAgentContextTokens of context (the model's maximum if
// smaller), then as long a context as fits them; if not even two fit that, one sequence with
// the longest context that fits. --parallel N asks for exactly N; --ctx caps the context.
inline constexpr int kDefaultMaxSequences = 4;
inline constexpr int kAgentContextTokens = 32768;
// What the plan's advice never goes below: a body limit that still takes a long prompt, and the
// queue it suggests when memory is short.
inline constexpr int64_t kSmallestUsefulBodyBytes = 1 << 20;
inline constexpr int kShortQueue = 4;
// Resident stack assumed per thread: glibc reserves 8 MiB of address space (RLIMIT_STACK) per
// thread, but only pages touched become resident, and snug's threads keep no large frames.
inline constexpr int64_t kThreadStackResidentBytes = 256 << 10;
// Code, libc/libstdc++ heaps, fragmentation and everything small not counted elsewhere.
inline constexpr int64_t kRuntimeMarginBytes = 64 << 20;
// What the HTTP transport holds per open connection (a request head, server/http_parser.h)
// and per worker (the unsent part of a streamed answer, server/http_connection.cc).
inline constexpr int64_t kHttpConnectionBytes = 16 << 10;
inline constexpr int64_t kHttpUnsentBytes = 64 << 10;

// The bytes all request bodies may hold at once: the configured budget, but never more than
// every worker holding a largest body, nor less than one largest body.
inline int64_t HttpBodyBudgetBytes(int workers, int64_t max_body_bytes, int64_t body_budget_bytes) {
  return std::max(max_body_bytes,
                  std::min(body_budget_bytes, static_cast<int64_t>(workers) * max_body_bytes));
}

// The HTTP tenant: the body budget seven times (the body, its parsed JSON, the strings taken
// from it, and the token ids its prompt becomes: at most one 4-byte id per byte), a head per
// connection, an unsent answer per worker.
inline int64_t HttpBufferBytes(int workers, int64_t max_body_bytes, int64_t body_budget_bytes,
                               int max_connections) {
  if (workers <= 0) return 0;
  return HttpBodyBudgetBytes(workers, max_body_bytes, body_budget_bytes) * 7 +
         static_cast<int64_t>(max_connections) * kHttpConnectionBytes +
         static_cast<int64_t>(workers) * kHttpUnsentBytes;
}

struct ActivationBytes {
  int64_t buffers = 0;         // DecoderBuffers for batch_tokens rows of the widest layer
  int64_t matmul_scratch = 0;  // quantized activations for the widest matrix
  int64_t rope_tables = 0;     // cos/sin per RoPE kind
  int64_t experts = 0;         // the MoE block's routing and expert buffers (MoeBlock::BytesFor)
  int64_t media = 0;           // the image/audio embedders' row buffers (Gemma4MediaEmbedder)
  int64_t total() const { return buffers + matmul_scratch + rope_tables + experts + media; }
};

// The arena a loaded model allocates (Model::activation_bytes()), computed from the spec alone.
ActivationBytes PlanActivations(const ModelSpec& spec,
                                const std::vector<ProjectionShape>& projections, int batch_tokens);

struct Overheads {
  int64_t thread_stacks = 0;  // (threads + connections + 2) × kThreadStackResidentBytes
  int64_t tokenizer = 0;      // TokenizerBytes()
  int64_t http_buffers = 0;   // HttpBufferBytes(): the body budget, heads, unsent answers
  int64_t request_state = 0;  // per sequence: tokens, positions, sampler; queued prompts;
                              // per HTTP worker: one tokenization's working memory
  int64_t runtime_margin = kRuntimeMarginBytes;
  int64_t total() const {
    return thread_stacks + tokenizer + http_buffers + request_state + runtime_margin;
  }
};

// Tokenizer tables: per token its string (32 bytes) and an id-map node with its bucket (~72),
// score, type and decode entry (~56); text twice (vocabulary and decode table); per merge the
// pair (8) and a hash-map node (~64).
int64_t TokenizerBytes(const TokenizerFacts& tokenizer);

struct MemoryPlan {
  Budget budget;
  KvType kv_type = KvType::kF16;
  int batch_tokens = 0;
  int max_image_tokens = 0;  // the largest image a request may hold (0: the model takes none)

  // The outcome.
  int context_tokens = 0;      // the longest context one request may use
  int sequences = 0;           // sequences held at once (KV slots)
  int64_t kv_pool_tokens = 0;  // context_tokens × sequences
  int max_context_tokens = 0;  // the model's trained context
  int min_context_tokens = 0;
  bool fits = false;

  // Tenants, in bytes.
  int64_t weight_bytes = 0;
  int64_t repacked_bytes = 0;
  int64_t kv_bytes = 0;
  int64_t kv_bytes_per_token = 0;          // full-attention layers, per token of context
  int64_t kv_ring_bytes_per_sequence = 0;  // sliding-window layers (rings), per sequence
  ActivationBytes activations;
  int logit_rows = 0;  // one per sequence sampling in a step
  int64_t logits_bytes = 0;
  int64_t prefix_cache_bytes = 0;
  Overheads overheads;
  int64_t total_bytes = 0;
  int64_t headroom_bytes = 0;  // budget − total (negative when it does not fit)

  std::string verdict;
  std::vector<std::string> suggestions;  // what would make it fit
  std::vector<std::string> notes;        // what the plan assumed or capped
};

MemoryPlan Plan(const ModelFacts& model, const PlanOptions& options, const Budget& budget);

// "Which settings fit?": for each context and KV type, how many sequences fit at once.
struct Alternative {
  int context_tokens = 0;
  KvType kv_type = KvType::kF16;
  int max_sequences = 0;    // 0: not even one; capped at kMaxListedSequences
  bool fits = false;        // max_sequences ≥ the requested parallel (or 1)
  int64_t total_bytes = 0;  // with one sequence
};
inline constexpr int kMaxListedSequences = 64;

// Contexts 4k, 8k, 32k, 128k and the model's maximum (those not above it) × f16/q8_0/q4_0.
std::vector<Alternative> Alternatives(const ModelFacts& model, const PlanOptions& options,
                                      const Budget& budget);

}  // namespace snug::memory
