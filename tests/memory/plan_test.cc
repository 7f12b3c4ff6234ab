// The plan's numbers for the real-shape presets (gemma3-1b, gemma4-12b, gptoss-20b) at several
// settings, against a cost model written here from the shapes in specs/models.md: KV per layer
// kind, the arena of DecoderBuffers, every overhead. The spec comes from a metadata-only GGUF
// of the real shape (the plan's own reading path); the weights' bytes from the synthetic
// generator's tensor list and types (what `snug make-model` writes), so no large file is needed.
#include "memory/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>

#include "kernels/kernels.h"
#include "memory/plan_format.h"
#include "memory/size.h"
#include "models/blocks.h"
#include "synth/generator.h"

namespace snug::memory {
namespace {

// The model as the preset writes it, minus the tensor data.
ModelFacts RealShapeFacts(const std::string& preset, const synth::TypeOptions& types) {
  auto config = synth::FindPreset(preset);
  CHECK(config.ok()) << config.status().ToString();
  const int64_t vocab = synth::DefaultVocabSize(*config);
  const std::string arch(synth::ArchitectureName(config->architecture));
  gguf::Writer writer;
  writer.SetString("general.architecture", arch);
  writer.SetString("general.name", preset);
  synth::WriteArchitectureMetadata(*config, writer);
  writer.SetU32(arch + ".vocab_size", static_cast<uint32_t>(vocab));
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  const Result<gguf::File> file = gguf::File::Parse(bytes);
  CHECK(file.ok()) << file.status().ToString();
  Result<ModelSpec> spec = ReadModelSpec(*file);
  CHECK(spec.ok()) << spec.status().ToString();

  ModelFacts facts;
  facts.spec = std::move(*spec);
  const bool tied = config->tied_embeddings;
  for (const synth::TensorSpec& tensor : synth::BuildTensors(*config, vocab)) {
    const DType type = synth::ChooseType(tensor, types);
    const int64_t cols = tensor.shape.back();
    const int64_t tensor_bytes = tensor.elements() / cols * RowBytes(type, cols);
    facts.weight_bytes += tensor_bytes;
    facts.q4_0_weight_bytes += tensor_bytes;  // not under test here
    if (tensor.shape.size() >= 2 && (tensor.name != "token_embd.weight" || tied)) {
      facts.projections.push_back({type, cols});
    }
  }
  facts.tokenizer = {.tokens = vocab, .text_bytes = 8 * vocab, .merges = vocab / 2};
  return facts;
}

// The shapes the test states, layer kinds counted by hand from specs/models.md.
struct Shape {
  int model_dim;
  int vocab;
  int max_context;
  int full_layers;   // layers with full attention that own their KV
  int64_t full_row;  // kv_heads × head_dim of a full layer
  int sliding_layers;
  int64_t sliding_row;
  int window;
  int64_t max_q, max_kv, max_ffn;
  std::vector<int> rotary_dims;  // per RoPE kind
  DType widest_type;             // the matrix with the most scratch
  int64_t widest_cols;
  int experts = 0, experts_used = 0;
  int64_t expert_ffn = 0;
};

// gemma3-1b: 26 layers, every 6th full (5, 11, 17, 23): 4 full, 22 sliding; 1 KV head of 256;
// window 512; q 4×256; ffn 6912 (ffn_down's rows are the widest, 6912 values).
const Shape kGemma3_1b = {1152, 262144, 32768, 4,    256,        22,           256,
                          512,  1024,   256,   6912, {256, 256}, DType::kQ4_0, 6912};
// gemma4-12b: 48 layers, full 5, 11, ..., 47: 8 full with 1 KV head of 512, 40 sliding with 8
// KV heads of 256, window 1024; q 16×512 on full layers; ffn 15360 (ffn_down the widest).
const Shape kGemma4_12b = {3840, 262144,   262144,  8,     512,        40,           8 * 256,
                           1024, 16 * 512, 8 * 256, 15360, {256, 512}, DType::kQ4_0, 15360};
// gptoss-20b: 24 layers, even ones slide: 12 + 12, 8 KV heads of 64, window 128; q 64×64; no
// dense MLP; 32 experts, 4 per token, 2880 wide; MXFP4 experts, q8_0 elsewhere, attn_output's
// 4096 values the widest row.
const Shape kGptOss20b = {2880, 201088, 131072, 12,           512,  12, 512, 128, 4096,
                          512,  0,      {64},   DType::kQ8_0, 4096, 32, 4,   2880};

int64_t RowBytesOf(KvType type, int64_t elements) {
  switch (type) {
    case KvType::kF16:
      return elements * 2;
    case KvType::kQ8_0:
      return elements / 32 * 34;
    case KvType::kQ4_0:
      return elements / 32 * 18;
  }
  return 0;
}

// The expected plan, tenant by tenant.
struct Expected {
  const Shape& shape;
  const ModelFacts& facts;
  const PlanOptions& options;

  int64_t Kv(int context, int sequences) const {
    const int ring = std::min(context, shape.window + options.batch_tokens);
    return 2ll * sequences *
           (shape.full_layers * static_cast<int64_t>(context) *
                RowBytesOf(options.kv_type, shape.full_row) +
            shape.sliding_layers * static_cast<int64_t>(ring) *
                RowBytesOf(options.kv_type, shape.sliding_row));
  }
  int64_t Activations() const {
    const int64_t b = options.batch_tokens;
    int64_t bytes =
        b * (4 * shape.model_dim + 2 * shape.max_q + 2 * shape.max_kv + 2 * shape.max_ffn) * 4;
    for (int rotary : shape.rotary_dims) bytes += 2 * b * (rotary / 2) * 4;
    bytes += kernels::MatMulScratchBytes(shape.widest_type, shape.widest_cols, b);
    if (shape.experts > 0) {
      // models/moe.h: router logits [b, experts]; per (token, choice) the expert, its weight
      // and its place in the by-expert order; gathered rows and one expert's output
      // [b, model_dim]; gate and up [b, expert_ffn]; offsets [experts + 1] and candidates
      // [experts]. One expert runs at a time, so nothing is per (token, expert) pair.
      bytes += 4 * (b * (shape.experts + 3ll * shape.experts_used + 2 * shape.model_dim +
                         2 * shape.expert_ffn) +
                    2ll * shape.experts + 1);
    }
    return bytes;
  }
  int64_t FixedOverheads() const {
    const TokenizerFacts& t = facts.tokenizer;
    return (options.threads + options.http_connections + 2) * (256 << 10) +
           (t.tokens * 160 + t.text_bytes * 2 + t.merges * 72) +
           HttpBufferBytes(options.http_connections, options.max_body_bytes,
                           options.http_body_budget_bytes, options.http_max_connections) +
           options.http_response_budget_bytes +
           (64 << 20);
  }
  int64_t Total(int context, int sequences) const {
    const int64_t requests = sequences * (context * 8ll + shape.vocab * 8ll) +
                             options.max_queue * static_cast<int64_t>(context) * 4 +
                             options.http_connections * (256ll << 10);  // tokenizing
    return facts.weight_bytes + Kv(context, sequences) + Activations() +
           sequences * static_cast<int64_t>(shape.vocab) * 4 + FixedOverheads() + requests;
  }
};

Budget Memory(int64_t bytes) { return {.bytes = bytes, .base_bytes = bytes, .source = "--memory"}; }

// Every tenant of the plan equals the test's model; the context is the largest that fits
// (rounded down to 256 below the cap) and one more sequence would not fit when not capped.
MemoryPlan CheckPlan(const Shape& shape, const ModelFacts& facts, const PlanOptions& options,
                     int64_t budget) {
  const MemoryPlan plan = Plan(facts, options, Memory(budget));
  const Expected expected{shape, facts, options};
  EXPECT_EQ(plan.max_context_tokens, shape.max_context);
  EXPECT_EQ(plan.kv_bytes, expected.Kv(plan.context_tokens, plan.sequences));
  EXPECT_EQ(plan.activations.total(), expected.Activations());
  EXPECT_EQ(plan.logits_bytes, plan.sequences * static_cast<int64_t>(shape.vocab) * 4);
  EXPECT_EQ(plan.prefix_cache_bytes, 0);  // cached prefixes live in idle KV slots
  EXPECT_EQ(plan.total_bytes, expected.Total(plan.context_tokens, plan.sequences));
  EXPECT_EQ(plan.headroom_bytes, budget - plan.total_bytes);
  EXPECT_EQ(plan.kv_bytes_per_token,
            2 * shape.full_layers * RowBytesOf(options.kv_type, shape.full_row));
  EXPECT_EQ(plan.kv_pool_tokens, static_cast<int64_t>(plan.context_tokens) * plan.sequences);
  if (!plan.fits) return plan;
  EXPECT_LE(plan.total_bytes, budget);
  const int cap = std::min(options.context_tokens.value_or(shape.max_context), shape.max_context);
  if (plan.context_tokens < cap) {
    EXPECT_EQ(plan.context_tokens % 256, 0);
    EXPECT_GT(expected.Total(plan.context_tokens + 256, plan.sequences), budget);
  } else {
    EXPECT_EQ(plan.context_tokens, cap);
  }
  // The default rule (plan.h): one more sequence would not fit the agents' context floor.
  const int floor =
      std::max(std::min(options.min_context_tokens, cap), std::min(kAgentContextTokens, cap));
  if (!options.parallel && plan.sequences < kDefaultMaxSequences) {
    EXPECT_GT(expected.Total(floor, std::max(plan.sequences + 1, 2)), budget);
  }
  if (!options.parallel && plan.sequences > 1) {
    EXPECT_GE(plan.context_tokens, floor);
  }
  return plan;
}

PlanOptions Options(std::optional<int> context, std::optional<int> parallel, KvType kv_type) {
  return {.context_tokens = context, .parallel = parallel, .kv_type = kv_type, .threads = 2};
}

TEST(PlanRealShapesTest, Gemma3_1bQ4_0) {
  const ModelFacts facts = RealShapeFacts("gemma3-1b", {.main = DType::kQ4_0});
  // 16 GiB: the whole trained context, four sequences.
  MemoryPlan plan = CheckPlan(kGemma3_1b, facts, Options({}, {}, KvType::kF16), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.context_tokens, 32768);
  EXPECT_EQ(plan.sequences, 4);
  // 16 parallel q8_0 sequences of 8192.
  plan = CheckPlan(kGemma3_1b, facts, Options(8192, 16, KvType::kQ8_0), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.context_tokens, 8192);
  EXPECT_EQ(plan.sequences, 16);
  // Tight: the weights plus 400 MiB fit one sequence of less than the trained context.
  plan =
      CheckPlan(kGemma3_1b, facts, Options({}, {}, KvType::kF16), facts.weight_bytes + 400 * kMiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_LT(plan.context_tokens, 32768);
  EXPECT_GE(plan.context_tokens, 4096);
}

TEST(PlanRealShapesTest, Gemma4_12bQ4_0) {
  const ModelFacts facts = RealShapeFacts("gemma4-12b", {.main = DType::kQ4_0});
  // 16 GiB: a LAN of agents first — four sequences, each with the longest context they all fit
  // (16 KiB per token on the 8 full layers, 480 MiB of rings per sequence), not one request
  // holding the whole 262144 tokens while a second one waits.
  MemoryPlan plan = CheckPlan(kGemma4_12b, facts, Options({}, {}, KvType::kF16), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.sequences, 4);
  EXPECT_GE(plan.context_tokens, kAgentContextTokens);
  EXPECT_LT(plan.context_tokens, 262144);
  std::cout << "gemma4-12b q4_0, --memory 16GiB: " << plan.sequences << " × "
            << plan.context_tokens << " tokens\n";
  EXPECT_EQ(plan.kv_bytes_per_token, 16 * kKiB);
  // --parallel 1: the one sequence takes the whole trained context.
  plan = CheckPlan(kGemma4_12b, facts, Options({}, 1, KvType::kF16), 16 * kGiB);
  EXPECT_EQ(plan.context_tokens, 262144);
  // Sliding rings: 40 layers × (1024 + 512) rows × 8 KiB (K and V of 8 heads × 256, f16).
  EXPECT_EQ(plan.kv_ring_bytes_per_sequence, 40ll * 1536 * 8 * kKiB);
  // Four sequences share the memory: the context shrinks to what fits.
  plan = CheckPlan(kGemma4_12b, facts, Options({}, 4, KvType::kF16), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.sequences, 4);
  EXPECT_LT(plan.context_tokens, 262144);
  const int f16_context = plan.context_tokens;
  // q4_0 KV (18 bytes per 32 values instead of 64) holds more context per sequence.
  plan = CheckPlan(kGemma4_12b, facts, Options({}, 4, KvType::kQ4_0), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_GT(plan.context_tokens, f16_context);
  // --ctx caps it.
  plan = CheckPlan(kGemma4_12b, facts, Options(32768, {}, KvType::kQ8_0), 16 * kGiB);
  EXPECT_EQ(plan.context_tokens, 32768);
  EXPECT_EQ(plan.sequences, 4);
}

// Gemma 4 12B unified: the batch grows to hold the largest image whole beside every sequence's
// decode token, and the embedders' row buffers are counted.
TEST(PlanRealShapesTest, Gemma4_12bUnifiedHoldsTheLargestImageInOneChunk) {
  ModelFacts facts = RealShapeFacts("gemma4-12b-unified", {.main = DType::kQ4_0});
  // RealShapeFacts parses metadata only; the media spec comes from the embedder tensors.
  facts.spec.media = {.image_patch_px = 48,
                      .image_positions = 1120,
                      .image_embed_dim = 3840,
                      .audio_frame_samples = 640};
  PlanOptions options = Options({}, 2, KvType::kF16);
  options.batch_tokens = 256;
  options.max_image_tokens = 560;
  MemoryPlan plan = Plan(facts, options, Memory(16 * kGiB));
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.max_image_tokens, 560);
  EXPECT_EQ(plan.batch_tokens, 562);
  EXPECT_GT(plan.activations.media, 0);
  EXPECT_EQ(plan.activations.buffers,
            static_cast<int64_t>(DecoderBuffers::BytesFor(facts.spec, 562)));
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes.back().find("raised from 256 to 562"), std::string::npos)
      << plan.notes.back();
  EXPECT_NE(FormatPlan(plan, facts).find("images up to 560 soft tokens"), std::string::npos);
  EXPECT_EQ(PlanToJson(plan, facts)["tenants"]["activations"]["max_image_tokens"], 560);
  // A batch that already holds it stays; a text-only model has no image limit.
  options.batch_tokens = 1024;
  EXPECT_EQ(Plan(facts, options, Memory(16 * kGiB)).batch_tokens, 1024);
  // A server in front counts the decoded media it may hold (and the image being decoded) for a
  // model that takes media, and nothing for one that does not.
  options.http_connections = 12;
  options.http_media_bytes = 0;
  const int64_t http_without = Plan(facts, options, Memory(16 * kGiB)).overheads.http_buffers;
  options.http_media_bytes = 600 * kMiB;
  EXPECT_EQ(Plan(facts, options, Memory(16 * kGiB)).overheads.http_buffers,
            http_without + 600 * kMiB);
  facts.spec.media = {};
  plan = Plan(facts, options, Memory(16 * kGiB));
  EXPECT_EQ(plan.max_image_tokens, 0);
  EXPECT_EQ(plan.activations.media, 0);
  options.http_media_bytes = 0;
  EXPECT_EQ(plan.overheads.http_buffers, Plan(facts, options, Memory(16 * kGiB)).overheads.http_buffers);
}

TEST(PlanRealShapesTest, GptOss20bMxfp4) {
  const ModelFacts facts = RealShapeFacts("gptoss-20b", {.main = DType::kMXFP4});
  MemoryPlan plan = CheckPlan(kGptOss20b, facts, Options({}, {}, KvType::kF16), 16 * kGiB);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.kv_bytes_per_token, 24 * kKiB);  // 12 full layers × 2 × 8 × 64 × 2 bytes
  EXPECT_EQ(plan.kv_ring_bytes_per_sequence, 12ll * (128 + 512) * 2 * kKiB);
  EXPECT_GT(plan.activations.experts, 0);
  plan = CheckPlan(kGptOss20b, facts, Options(32768, 8, KvType::kQ8_0), 16 * kGiB);
  EXPECT_EQ(plan.sequences, 8);
  // --ctx above the trained context is capped, with a note.
  plan = CheckPlan(kGptOss20b, facts, Options(1 << 20, 1, KvType::kF16), 32 * kGiB);
  EXPECT_EQ(plan.context_tokens, 131072);
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes[0].find("capped at 131072"), std::string::npos);
}

// The MoE block runs one expert at a time: its buffers are [batch, width], not one set per
// (token, chosen expert) as the plan reserved before MoeBlock::BytesFor (4 experts per token:
// about 3× the bytes). At --memory 16GiB gptoss-20b gets the difference as context.
TEST(PlanRealShapesTest, GptOss20bMoeScratchIsSizedByTheBlock) {
  const ModelFacts facts = RealShapeFacts("gptoss-20b", {.main = DType::kMXFP4});
  const PlanOptions options = Options({}, 1, KvType::kF16);
  const MemoryPlan plan = Plan(facts, options, Memory(16 * kGiB));
  const int64_t b = options.batch_tokens;
  const int64_t old_reservation = b * (32 + 4 * (2 * 2880 + 2880)) * 4;
  EXPECT_LT(plan.activations.experts * 2, old_reservation);
  ModelFacts before = facts;
  before.repacked_bytes += old_reservation - plan.activations.experts;
  const MemoryPlan old_plan = Plan(before, options, Memory(16 * kGiB));
  std::cout << "gptoss-20b, --memory 16GiB --parallel 1: context " << old_plan.context_tokens
            << " with the old MoE reservation (" << old_reservation << " bytes), "
            << plan.context_tokens << " with MoeBlock::BytesFor (" << plan.activations.experts
            << " bytes)\n";
  EXPECT_GE(plan.context_tokens, old_plan.context_tokens);
}

TEST(PlanRealShapesTest, RefusesWhenOneMinimumSequenceDoesNotFitAndSaysWhatWould) {
  const ModelFacts facts = RealShapeFacts("gptoss-20b", {.main = DType::kMXFP4});
  // The weights plus 300 MiB: the overheads alone (~200 MiB) and one 4096-token f16 sequence
  // (96 MiB + 15 MiB of rings) do not fit together.
  const int64_t budget = facts.weight_bytes + 300 * kMiB;
  const MemoryPlan plan = CheckPlan(kGptOss20b, facts, Options({}, 2, KvType::kF16), budget);
  EXPECT_FALSE(plan.fits);
  EXPECT_EQ(plan.context_tokens, 4096);  // the minimum it would need
  EXPECT_GT(plan.total_bytes, budget);
  EXPECT_LT(plan.headroom_bytes, 0);
  EXPECT_NE(plan.verdict.find("does not fit"), std::string::npos);
  std::string suggestions;  // the single changes (a "together:" line is checked on its own)
  for (const std::string& s : plan.suggestions) {
    if (!s.starts_with("together: ")) suggestions += s + "\n";
  }
  EXPECT_NE(suggestions.find("--memory"), std::string::npos) << suggestions;
  EXPECT_NE(suggestions.find("weight type"), std::string::npos) << suggestions;
  // Each concrete suggestion is checked by planning with it.
  for (KvType type : {KvType::kQ8_0, KvType::kQ4_0}) {
    const std::string flag = "--kv-type " + std::string(KvTypeName(type));
    if (suggestions.find(flag) == std::string::npos) continue;
    EXPECT_TRUE(Plan(facts, Options({}, 2, type), Memory(budget)).fits) << flag;
  }
  if (suggestions.find("--parallel 1") != std::string::npos) {
    EXPECT_TRUE(Plan(facts, Options({}, 1, KvType::kF16), Memory(budget)).fits);
  }
  // The memory suggested fits, and 2 MiB less does not.
  const std::string& more = plan.suggestions.back();
  const size_t flag = more.find("--memory ");
  ASSERT_NE(flag, std::string::npos) << more;
  const Result<int64_t> suggested =
      ParseSize(more.substr(flag + 9, more.find(' ', flag + 9) - flag - 9));
  ASSERT_TRUE(suggested.ok()) << more;
  EXPECT_TRUE(Plan(facts, Options({}, 2, KvType::kF16), Memory(*suggested)).fits) << more;
  EXPECT_FALSE(Plan(facts, Options({}, 2, KvType::kF16), Memory(*suggested - 2 * kMiB)).fits);
}

// Issue 15: when no single change fits, the plan names a combination that does — and the
// combination, planned with exactly those flags, fits.
TEST(PlanRealShapesTest, SuggestsACombinationWhenNoSingleChangeFits) {
  const ModelFacts facts = RealShapeFacts("gemma4-12b", {.main = DType::kQ4_0});
  // The budget of one q8_0 sequence of 4096 tokens with a short queue: f16 KV, two sequences
  // or the long queue alone each need more.
  PlanOptions fitting = Options(4096, 1, KvType::kQ8_0);
  fitting.max_queue = kShortQueue;
  const int64_t budget = Plan(facts, fitting, Memory(64 * kGiB)).total_bytes;
  const MemoryPlan plan = Plan(facts, Options({}, 2, KvType::kF16), Memory(budget));
  ASSERT_FALSE(plan.fits);
  std::string together;
  for (const std::string& s : plan.suggestions) {
    if (s.starts_with("together: ")) together = s;
  }
  ASSERT_FALSE(together.empty()) << plan.verdict;
  PlanOptions options = Options({}, 2, KvType::kF16);
  std::istringstream flags(together.substr(10));
  for (std::string flag, value; flags >> flag && flag.starts_with("--") && flags >> value;) {
    if (flag == "--kv-type") options.kv_type = value == "q8_0" ? KvType::kQ8_0 : KvType::kQ4_0;
    if (flag == "--parallel") options.parallel = std::stoi(value);
    if (flag == "--max-queue") options.max_queue = std::stoi(value);
    if (flag == "--max-body-bytes") options.max_body_bytes = std::stoll(value);
    if (flag == "--ctx") options.context_tokens = std::stoi(value);
    if (flag == "--min-ctx") options.min_context_tokens = std::stoi(value);
  }
  EXPECT_EQ(options.parallel, 1) << together;
  const MemoryPlan suggested = Plan(facts, options, Memory(budget));
  EXPECT_TRUE(suggested.fits) << together;
  EXPECT_GE(suggested.context_tokens, 4096) << together;
  // Advice never goes below a body limit that takes a long prompt.
  for (const std::string& s : plan.suggestions) {
    const size_t at = s.find("--max-body-bytes ");
    if (at != std::string::npos) {
      EXPECT_GE(std::stoll(s.substr(at + 17)), kSmallestUsefulBodyBytes);
    }
  }
}

TEST(PlanRealShapesTest, SuggestsTheLargestRequestBodyThatFits) {
  const ModelFacts facts = RealShapeFacts("gemma3-1b", {.main = DType::kQ4_0});
  // Bodies of up to 256 MiB raise the body budget to 256 MiB (768 MiB of HTTP buffers): they do
  // not fit in the weights + 600 MiB; smaller bodies do.
  PlanOptions options = Options({}, {}, KvType::kF16);
  options.http_connections = 76;
  options.max_body_bytes = 256 * kMiB;
  const int64_t budget = facts.weight_bytes + 600 * kMiB;
  const MemoryPlan plan = CheckPlan(kGemma3_1b, facts, options, budget);
  ASSERT_FALSE(plan.fits);
  std::string suggestion;
  for (const std::string& s : plan.suggestions) {
    if (s.find("--max-body-bytes") != std::string::npos) suggestion = s;
  }
  ASSERT_FALSE(suggestion.empty()) << plan.verdict;
  const size_t at = suggestion.find("--max-body-bytes ") + 17;
  const int64_t body = std::stoll(suggestion.substr(at, suggestion.find(' ', at) - at));
  const auto fits = [&](int64_t bytes) {
    PlanOptions smaller = options;
    smaller.max_body_bytes = bytes;
    return Plan(facts, smaller, Memory(budget)).fits;
  };
  EXPECT_EQ(body % kKiB, 0);
  EXPECT_TRUE(fits(body)) << suggestion;
  EXPECT_FALSE(fits(body + kKiB)) << suggestion;
}

// Issue 9: the HTTP tenant is one small figure at the defaults, whatever the queue (it was
// (parallel + max_queue + 8) × max_body × 3 = 456 MiB). Issue 14 added the token ids the
// bodies' prompts become (4 × the body budget): 125 MiB at the defaults; item 8 the 16 MiB
// budget of non-streamed answers: 141 MiB.
TEST(PlanRealShapesTest, HttpBuffersAreSmallAtTheDefaults) {
  const ModelFacts facts = RealShapeFacts("gemma3-1b", {.main = DType::kQ4_0});
  PlanOptions options = Options({}, {}, KvType::kF16);
  options.http_connections = 4 + 64 + 8;
  options.max_body_bytes = 2 * kMiB;
  options.max_queue = 64;
  const MemoryPlan plan = Plan(facts, options, Memory(16ll << 30));
  EXPECT_LE(plan.overheads.http_buffers, 144 * kMiB);
  options.http_connections = 4 + 1024 + 8;  // a long queue costs only its workers' buffers
  EXPECT_LE(Plan(facts, options, Memory(16ll << 30)).overheads.http_buffers, 208 * kMiB);
}

TEST(PlanRealShapesTest, AlternativesAgreeWithThePlan) {
  const ModelFacts facts = RealShapeFacts("gemma4-12b", {.main = DType::kQ4_0});
  const PlanOptions options = Options({}, 2, KvType::kF16);
  const std::vector<Alternative> alternatives = Alternatives(facts, options, Memory(16 * kGiB));
  ASSERT_EQ(alternatives.size(), 5u * 3);  // 4k, 8k, 32k, 128k, 256k × f16, q8_0, q4_0
  for (const Alternative& alternative : alternatives) {
    SCOPED_TRACE(std::to_string(alternative.context_tokens) + " " +
                 std::string(KvTypeName(alternative.kv_type)));
    EXPECT_EQ(alternative.fits, alternative.max_sequences >= 2);
    const int n = alternative.max_sequences;
    // Fits means n sequences of exactly this context (the plan would shrink the context).
    const auto fits = [&](int sequences) {
      const MemoryPlan plan =
          Plan(facts, Options(alternative.context_tokens, sequences, alternative.kv_type),
               Memory(16 * kGiB));
      return plan.fits && plan.context_tokens == alternative.context_tokens;
    };
    if (n > 0) {
      EXPECT_TRUE(fits(n));
    }
    if (n < kMaxListedSequences) {
      EXPECT_FALSE(fits(n + 1));
    }
  }
}

TEST(PlanFormatTest, TableAndJsonCarryThePlansNumbers) {
  const ModelFacts facts = RealShapeFacts("gemma3-1b", {.main = DType::kQ4_0});
  const PlanOptions options = Options({}, {}, KvType::kF16);
  const MemoryPlan plan = Plan(facts, options, Memory(16 * kGiB));
  const std::string text = FormatPlan(plan, facts);
  for (const std::string& expected :
       {std::string("budget 16.00 GiB from --memory"), FormatBytes(plan.kv_bytes),
        FormatBytes(plan.total_bytes), plan.verdict, std::string("4.0 KiB per token")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  const nlohmann::ordered_json json = PlanToJson(plan, facts);
  EXPECT_EQ(json["total_bytes"], plan.total_bytes);
  EXPECT_EQ(json["tenants"]["kv"]["bytes"], plan.kv_bytes);
  EXPECT_EQ(json["tenants"]["activations"]["bytes"], plan.activations.total());
  EXPECT_EQ(json["context_tokens"], 32768);
  EXPECT_EQ(json["fits"], true);
  const std::vector<Alternative> alternatives = Alternatives(facts, options, Memory(16 * kGiB));
  EXPECT_EQ(AlternativesToJson(alternatives).size(), alternatives.size());
  EXPECT_NE(FormatAlternatives(alternatives, plan).find("32768"), std::string::npos);
}

}  // namespace
}  // namespace snug::memory
