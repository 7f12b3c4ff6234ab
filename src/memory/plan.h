// The memory plan: a pure function from a model's facts (spec and tensor sizes, read from the
// file's metadata alone), the options and a budget to exact byte counts for every tenant —
// weights, KV cache, activation arena, logits, prefix cache, runtime overheads — and from them
// the longest context one request may use and how many sequences run at once. If one sequence
// of the minimum context does not fit, the plan says so and what would make it fit.
#pragma once

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
  int threads = 1;         // compute threads (resolved, not 0)
  // Memory of the prefix cache's own. None today: the engine keeps cached prefixes in the KV
  // slots of finished sequences (engine.h), which the KV cache tenant already counts.
  int64_t prefix_cache_bytes = 0;
  int http_connections = 8;
  int64_t max_body_bytes = 2 << 20;  // the largest request body the server accepts
  int max_queue = 64;                // requests waiting for a slot
};

// Sequences the plan runs at once by default (more with --parallel).
inline constexpr int kDefaultMaxSequences = 4;
// Resident stack assumed per thread: glibc reserves 8 MiB of address space (RLIMIT_STACK) per
// thread, but only pages touched become resident, and snug's threads keep no large frames.
inline constexpr int64_t kThreadStackResidentBytes = 256 << 10;
// Code, libc/libstdc++ heaps, fragmentation and everything small not counted elsewhere.
inline constexpr int64_t kRuntimeMarginBytes = 64 << 20;

struct ActivationBytes {
  int64_t buffers = 0;         // DecoderBuffers for batch_tokens rows of the widest layer
  int64_t matmul_scratch = 0;  // quantized activations for the widest matrix
  int64_t rope_tables = 0;     // cos/sin per RoPE kind
  int64_t experts = 0;         // MoE routing and per-expert outputs (estimate until gpt-oss runs)
  int64_t total() const { return buffers + matmul_scratch + rope_tables + experts; }
};

// The arena a loaded model allocates (Model::activation_bytes()), computed from the spec alone.
ActivationBytes PlanActivations(const ModelSpec& spec,
                                const std::vector<ProjectionShape>& projections, int batch_tokens);

struct Overheads {
  int64_t thread_stacks = 0;  // (threads + connections + 2) × kThreadStackResidentBytes
  int64_t tokenizer = 0;      // TokenizerBytes()
  int64_t http_buffers = 0;   // connections × max body × 3 (the body and its parsed JSON)
  int64_t request_state = 0;  // per sequence: tokens, positions, sampler; queued prompts
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
