// The plan's arithmetic. Every tenant is a function of (context, sequences) for fixed options;
// the total grows with both, so the largest context that fits is found by bisection and every
// number printed is the exact sum that was compared with the budget.
#include "memory/plan.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <string>

#include "kernels/kernels.h"
#include "memory/size.h"
#include "models/blocks.h"
#include "models/gemma4_media.h"
#include "models/moe.h"
#include "tokenizer/working_memory.h"

namespace snug::memory {
namespace {

constexpr int kContextGranule = 256;  // a fitted (not capped) context is rounded down to this
constexpr int kSmallestUsefulContext = 1024;  // advice below this would not hold a conversation

// The model and options fixed; bytes as a function of (context, sequences).
class Costs {
 public:
  Costs(const ModelFacts& model, const PlanOptions& options, KvType kv_type)
      : model_(model), options_(options), kv_type_(kv_type), kv_layers_(model.spec.KvLayers()) {
    activations_ = PlanActivations(model.spec, model.projections, options.batch_tokens);
    fixed_.thread_stacks = static_cast<int64_t>(options.threads + options.http_connections + 2) *
                           kThreadStackResidentBytes;
    fixed_.tokenizer = TokenizerBytes(model.tokenizer);
    fixed_.http_buffers =
        HttpBufferBytes(options.http_connections, options.max_body_bytes,
                        options.http_body_budget_bytes, options.http_max_connections) +
        (options.http_connections > 0 ? options.http_response_budget_bytes : 0) +
        (options.http_connections > 0 && (model.spec.media.images() || model.spec.media.audio())
             ? options.http_media_bytes
             : 0);
  }

  int64_t Kv(int context, int sequences) const {
    const KvCacheOptions kv{
        .slots = sequences, .context_tokens = context, .batch_tokens = options_.batch_tokens};
    return static_cast<int64_t>(KvCache::BytesFor(kv_layers_, kv, kv_type_));
  }
  Overheads OverheadsFor(int context, int sequences) const {
    Overheads overheads = fixed_;
    const int64_t vocab = model_.spec.vocab_size;
    // Per sequence: token ids and positions of its context, and the sampler's candidates
    // (id + probability per vocabulary entry). Queued requests hold their tokenized prompts;
    // a worker tokenizing a prompt holds a bounded window's BPE state besides.
    overheads.request_state =
        static_cast<int64_t>(sequences) * (context * 8ll + vocab * 8) +
        static_cast<int64_t>(options_.max_queue) * context * 4 +
        static_cast<int64_t>(options_.http_connections) * tokenizer::kEncodeWorkingBytes;
    return overheads;
  }
  int64_t Logits(int sequences) const {
    return static_cast<int64_t>(sequences) * model_.spec.vocab_size * 4;
  }
  int64_t Total(int context, int sequences) const {
    return model_.weight_bytes + model_.repacked_bytes + Kv(context, sequences) +
           activations_.total() + Logits(sequences) + options_.prefix_cache_bytes +
           OverheadsFor(context, sequences).total();
  }

  const ActivationBytes& activations() const { return activations_; }

 private:
  const ModelFacts& model_;
  const PlanOptions& options_;
  KvType kv_type_;
  std::vector<KvLayerSpec> kv_layers_;
  ActivationBytes activations_;
  Overheads fixed_;
};

// The largest context in [low, high] whose total fits, or 0.
int LargestContext(const Costs& costs, int sequences, int low, int high, int64_t budget) {
  if (low > high || costs.Total(low, sequences) > budget) return 0;
  while (low < high) {
    const int middle = low + (high - low + 1) / 2;
    if (costs.Total(middle, sequences) <= budget) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

// The largest count in [1, high] of sequences of `context` that fit, or 0.
int LargestSequences(const Costs& costs, int context, int high, int64_t budget) {
  int sequences = 0;
  while (sequences < high && costs.Total(context, sequences + 1) <= budget) ++sequences;
  return sequences;
}

std::string Tokens(int64_t tokens) { return std::to_string(tokens); }

// When no single change fits: the combination of cheaper settings (KV type, one sequence, a
// short queue, the smallest useful body limit) that fits the longest context, as flags to
// paste; empty when none fits or one change would do (the single suggestions say those).
std::string FittingCombination(const ModelFacts& model, const PlanOptions& options, int sequences,
                               int cap, int64_t limit) {
  struct Change {
    std::string flag;
    std::function<void(PlanOptions&, int&)> apply;
  };
  std::vector<Change> changes;
  for (KvType type : {KvType::kQ8_0, KvType::kQ4_0}) {
    if (KvRowBytes(type, 256) >= KvRowBytes(options.kv_type, 256)) continue;
    changes.push_back({"--kv-type " + std::string(KvTypeName(type)),
                       [type](PlanOptions& o, int&) { o.kv_type = type; }});
  }
  if (sequences > 1) changes.push_back({"--parallel 1", [](PlanOptions&, int& s) { s = 1; }});
  if (options.max_queue > kShortQueue) {
    changes.push_back({"--max-queue " + std::to_string(kShortQueue),
                       [](PlanOptions& o, int&) { o.max_queue = kShortQueue; }});
  }
  if (options.max_body_bytes > kSmallestUsefulBodyBytes) {
    changes.push_back({"--max-body-bytes " + std::to_string(kSmallestUsefulBodyBytes),
                       [](PlanOptions& o, int&) { o.max_body_bytes = kSmallestUsefulBodyBytes; }});
  }
  int best_context = 0;
  std::string best_flags;
  int best_count = 0;
  for (uint32_t mask = 1; mask < (1u << changes.size()); ++mask) {
    PlanOptions changed = options;
    int count = sequences;
    std::string flags;
    bool two_kv_types = false;
    for (size_t i = 0; i < changes.size(); ++i) {
      if (!(mask & (1u << i))) continue;
      two_kv_types |= changed.kv_type != options.kv_type && changes[i].flag.starts_with("--kv");
      changes[i].apply(changed, count);
      flags += (flags.empty() ? "" : " ") + changes[i].flag;
    }
    if (two_kv_types) continue;
    const int fitted = LargestContext(Costs(model, changed, changed.kv_type), count, 1, cap, limit);
    const int used = std::popcount(mask);
    if (fitted > best_context || (fitted == best_context && fitted > 0 && used < best_count)) {
      best_context = fitted;
      best_flags = flags;
      best_count = used;
    }
  }
  if (best_context < std::min(kSmallestUsefulContext, cap) || best_count < 2) return "";
  int context = best_context;
  if (context < cap && context >= kContextGranule)
    context = context / kContextGranule * kContextGranule;
  return "together: " + best_flags + " --ctx " + Tokens(context) + " --min-ctx " + Tokens(context) +
         " fits " + Tokens(context) + " tokens";
}

}  // namespace

ActivationBytes PlanActivations(const ModelSpec& spec,
                                const std::vector<ProjectionShape>& projections, int batch_tokens) {
  // The buffers' owners size themselves (models/blocks.h, models/moe.h): the same functions the
  // loaded model allocates with, so the plan cannot drift from the allocator.
  ActivationBytes bytes;
  bytes.buffers = static_cast<int64_t>(DecoderBuffers::BytesFor(spec, batch_tokens));
  for (const ProjectionShape& projection : projections) {
    bytes.matmul_scratch = std::max<int64_t>(
        bytes.matmul_scratch,
        kernels::MatMulScratchBytes(projection.dtype, projection.cols, batch_tokens));
  }
  for (const RopeSpec& rope : spec.ropes) {
    bytes.rope_tables += static_cast<int64_t>(RopeTable::BytesFor(rope, batch_tokens));
  }
  bytes.experts = static_cast<int64_t>(MoeBlock::BytesFor(spec, batch_tokens));
  bytes.media = static_cast<int64_t>(Gemma4MediaEmbedder::BytesFor(spec.media, batch_tokens));
  return bytes;
}

int64_t TokenizerBytes(const TokenizerFacts& tokenizer) {
  return tokenizer.tokens * 160 + tokenizer.text_bytes * 2 + tokenizer.merges * 72;
}

namespace {

// The options with a batch that holds the largest image whole beside one decode token per
// sequence (engine.h: EngineOptions::max_image_tokens), for a model that embeds images.
PlanOptions WithImageRoom(const ModelSpec& spec, PlanOptions options, MemoryPlan& plan) {
  if (!spec.media.images()) return options;
  plan.max_image_tokens = options.max_image_tokens;
  const int needed = options.max_image_tokens + options.parallel.value_or(kDefaultMaxSequences);
  if (options.batch_tokens < needed) {
    plan.notes.push_back("batch raised from " + std::to_string(options.batch_tokens) + " to " +
                         std::to_string(needed) + " tokens so that an image of " +
                         std::to_string(options.max_image_tokens) +
                         " soft tokens (--max-image-tokens) is prefilled in one chunk");
    options.batch_tokens = needed;
  }
  return options;
}

}  // namespace

MemoryPlan Plan(const ModelFacts& model, const PlanOptions& requested, const Budget& budget) {
  MemoryPlan plan;
  const PlanOptions options = WithImageRoom(model.spec, requested, plan);
  plan.budget = budget;
  plan.kv_type = options.kv_type;
  plan.batch_tokens = options.batch_tokens;
  plan.max_context_tokens = model.spec.context_tokens;
  plan.weight_bytes = model.weight_bytes;
  plan.repacked_bytes = model.repacked_bytes;

  int cap = plan.max_context_tokens;
  if (options.context_tokens) {
    if (*options.context_tokens > cap) {
      plan.notes.push_back("--ctx " + Tokens(*options.context_tokens) +
                           " is above the model's trained context; capped at " + Tokens(cap));
    } else {
      cap = *options.context_tokens;
    }
  }
  plan.min_context_tokens = std::min(options.min_context_tokens, cap);
  const int min_context = plan.min_context_tokens;
  const Costs costs(model, options, options.kv_type);
  const int64_t limit = budget.bytes;

  // Sequences first (plan.h: kAgentContextTokens), then the longest context they all fit.
  int sequences = options.parallel.value_or(1);
  int context = 0;
  if (!options.parallel) {
    const int floor = std::max(min_context, std::min(kAgentContextTokens, cap));
    for (int count = kDefaultMaxSequences; count >= 2 && context == 0; --count) {
      context = LargestContext(costs, count, floor, cap, limit);
      if (context > 0) sequences = count;
    }
  }
  if (context == 0) context = LargestContext(costs, sequences, min_context, cap, limit);
  if (context > 0 && context < cap) {
    const int rounded = context / kContextGranule * kContextGranule;
    if (rounded >= min_context) context = rounded;
  }
  plan.fits = context > 0;
  if (!plan.fits) context = min_context;  // show what the minimum would need

  plan.context_tokens = context;
  plan.sequences = sequences;
  plan.kv_pool_tokens = static_cast<int64_t>(context) * sequences;
  plan.kv_bytes = costs.Kv(context, sequences);
  for (size_t i = 0; i < model.spec.layers.size(); ++i) {
    const LayerSpec& layer = model.spec.layers[i];
    if (layer.kv_source_layer != static_cast<int>(i)) continue;
    const int64_t row = static_cast<int64_t>(
        2 * KvRowBytes(options.kv_type, static_cast<int64_t>(layer.num_kv_heads) * layer.head_dim));
    if (layer.window_tokens > 0) {
      plan.kv_ring_bytes_per_sequence +=
          row * std::min(context, layer.window_tokens + options.batch_tokens);
    } else {
      plan.kv_bytes_per_token += row;
    }
  }
  plan.activations = costs.activations();
  plan.logit_rows = sequences;
  plan.logits_bytes = costs.Logits(sequences);
  plan.prefix_cache_bytes = options.prefix_cache_bytes;
  plan.overheads = costs.OverheadsFor(context, sequences);
  plan.total_bytes = costs.Total(context, sequences);
  plan.headroom_bytes = limit - plan.total_bytes;

  if (plan.fits) {
    plan.verdict = "fits: " + Tokens(context) + " tokens of context per request, " +
                   std::to_string(sequences) + (sequences == 1 ? " sequence" : " sequences") +
                   " at once";
    return plan;
  }

  plan.verdict = "does not fit: " + std::to_string(sequences) + " × " + Tokens(min_context) +
                 " tokens need " + FormatBytes(plan.total_bytes) + ", the budget is " +
                 FormatBytes(limit);
  const int64_t deficit = plan.total_bytes - limit;
  if (const int smaller = LargestContext(costs, sequences, 1, min_context - 1, limit)) {
    plan.suggestions.push_back("a smaller context: --ctx " + Tokens(smaller) + " --min-ctx " +
                               Tokens(smaller) + " fits");
  }
  for (KvType type : {KvType::kQ8_0, KvType::kQ4_0}) {
    if (KvRowBytes(type, 256) >= KvRowBytes(options.kv_type, 256)) continue;
    const Costs smaller(model, options, type);
    if (const int fitted = LargestContext(smaller, sequences, min_context, cap, limit)) {
      plan.suggestions.push_back("a smaller KV type: --kv-type " + std::string(KvTypeName(type)) +
                                 " fits " + Tokens(fitted) + " tokens");
      break;
    }
  }
  if (sequences > 1) {
    if (const int fewer = LargestSequences(costs, min_context, sequences - 1, limit)) {
      plan.suggestions.push_back("fewer sequences: --parallel " + std::to_string(fewer) + " fits");
    }
  }
  // A body limit above the body budget raises the budget to it: the largest body limit that
  // fits, found by bisection, never below what a long prompt needs.
  if (options.http_connections > 0 && options.max_body_bytes > kSmallestUsefulBodyBytes) {
    PlanOptions smaller = options;
    auto fits_with_body = [&](int64_t body) {
      smaller.max_body_bytes = body;
      return Costs(model, smaller, options.kv_type).Total(context, sequences) <= limit;
    };
    int64_t low = kSmallestUsefulBodyBytes, high = options.max_body_bytes - 1;
    if (fits_with_body(low)) {
      while (low < high) {
        const int64_t middle = low + (high - low + 1) / 2;
        if (fits_with_body(middle)) {
          low = middle;
        } else {
          high = middle - 1;
        }
      }
      plan.suggestions.push_back("a smaller request body limit: --max-body-bytes " +
                                 std::to_string(low / kKiB * kKiB) + " fits");
    }
  }
  if (std::string together = FittingCombination(model, options, sequences, cap, limit);
      !together.empty()) {
    plan.suggestions.push_back(std::move(together));
  }
  if (model.weight_bytes - model.q4_0_weight_bytes >= deficit) {
    plan.suggestions.push_back("a smaller weight type: the weights need " + FormatBytes(deficit) +
                               " less (a q4_0 file is about " +
                               FormatBytes(model.q4_0_weight_bytes) + ")");
  } else {
    plan.suggestions.push_back("a smaller weight type would have to save " + FormatBytes(deficit) +
                               ", more than q4_0 saves");
  }
  const int64_t needed = (plan.total_bytes + kMiB - 1) / kMiB * kMiB;
  plan.suggestions.push_back("more memory: --memory " + std::to_string(needed / kMiB) + "MiB (" +
                             FormatBytes(needed) + ") or more");
  return plan;
}

std::vector<Alternative> Alternatives(const ModelFacts& model, const PlanOptions& options,
                                      const Budget& budget) {
  const int max_context = model.spec.context_tokens;
  std::vector<int> contexts;
  for (int context : {4096, 8192, 32768, 131072, max_context}) {
    if (context <= max_context &&
        std::find(contexts.begin(), contexts.end(), context) == contexts.end()) {
      contexts.push_back(context);
    }
  }
  std::sort(contexts.begin(), contexts.end());
  const int wanted = options.parallel.value_or(1);
  std::vector<Alternative> alternatives;
  for (KvType type : {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0}) {
    const Costs costs(model, options, type);
    for (int context : contexts) {
      Alternative alternative;
      alternative.context_tokens = context;
      alternative.kv_type = type;
      alternative.max_sequences =
          LargestSequences(costs, context, kMaxListedSequences, budget.bytes);
      alternative.fits = alternative.max_sequences >= wanted;
      alternative.total_bytes = costs.Total(context, 1);
      alternatives.push_back(alternative);
    }
  }
  return alternatives;
}

}  // namespace snug::memory
