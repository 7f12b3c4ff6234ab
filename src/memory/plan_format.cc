#include "memory/plan_format.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "memory/size.h"

namespace snug::memory {
namespace {

std::string Row(const std::string& name, int64_t bytes, const std::string& detail) {
  char line[256];
  std::snprintf(line, sizeof(line), "  %-26s %12s  %s\n", name.c_str(), FormatBytes(bytes).c_str(),
                detail.c_str());
  return line;
}

}  // namespace

std::string FormatPlan(const MemoryPlan& plan, const ModelFacts& model) {
  std::ostringstream out;
  const ModelSpec& spec = model.spec;
  out << "memory plan for " << (spec.name.empty() ? spec.architecture : spec.name) << " ("
      << spec.architecture << ", " << spec.layers.size() << " layers, vocabulary "
      << spec.vocab_size << ")\n";
  out << "budget " << FormatBytes(plan.budget.bytes) << " from " << plan.budget.source;
  if (plan.budget.reserve_bytes > 0) {
    out << ": " << FormatBytes(plan.budget.base_bytes) << " minus a reserve of "
        << FormatBytes(plan.budget.reserve_bytes) << " for the OS";
  }
  out << "\n\n";
  const ActivationBytes& a = plan.activations;
  const Overheads& o = plan.overheads;
  out << Row("weights (mapped)", plan.weight_bytes, "tensor bytes of the file, in page cache");
  out << Row("weights (repacked)", plan.repacked_bytes, "none: kernels read the mapped file");
  out << Row("KV cache " + std::string(KvTypeName(plan.kv_type)), plan.kv_bytes,
             std::to_string(plan.sequences) + " × " + std::to_string(plan.context_tokens) +
                 " tokens: " + FormatBytes(plan.kv_bytes_per_token) +
                 " per token (full layers) + " + FormatBytes(plan.kv_ring_bytes_per_sequence) +
                 " rings per sequence (sliding layers)");
  out << Row(
      "activations", a.total(),
      "batch " + std::to_string(plan.batch_tokens) + ": buffers " + FormatBytes(a.buffers) +
          ", matmul scratch " + FormatBytes(a.matmul_scratch) + ", rope " +
          FormatBytes(a.rope_tables) +
          (a.experts > 0 ? ", experts " + FormatBytes(a.experts) : "") +
          (plan.max_image_tokens > 0 ? ", media " + FormatBytes(a.media) + " (images up to " +
                                           std::to_string(plan.max_image_tokens) + " soft tokens)"
                                     : ""));
  out << Row("logits", plan.logits_bytes,
             std::to_string(plan.logit_rows) + (plan.logit_rows == 1 ? " row × " : " rows × ") +
                 std::to_string(spec.vocab_size) + " f32");
  out << Row(
      "prefix cache", plan.prefix_cache_bytes,
      plan.prefix_cache_bytes == 0 ? "in idle KV slots (counted in the KV cache)" : "evictable");
  out << Row("overheads", o.total(),
             "threads " + FormatBytes(o.thread_stacks) + ", tokenizer " + FormatBytes(o.tokenizer) +
                 ", http " + FormatBytes(o.http_buffers) + ", requests " +
                 FormatBytes(o.request_state) + ", runtime " + FormatBytes(o.runtime_margin));
  out << Row("total", plan.total_bytes, "of a budget of " + FormatBytes(plan.budget.bytes));
  out << Row("headroom", plan.headroom_bytes, "");
  out << "\n";
  out << "context per request   " << plan.context_tokens << " tokens (model maximum "
      << plan.max_context_tokens << ", minimum " << plan.min_context_tokens << ")\n";
  out << "sequences at once     " << plan.sequences << " (KV pool " << plan.kv_pool_tokens
      << " tokens)\n";
  out << "verdict               " << plan.verdict << "\n";
  for (const std::string& note : plan.notes) out << "note                  " << note << "\n";
  if (!plan.suggestions.empty()) {
    out << "what would fit:\n";
    for (const std::string& suggestion : plan.suggestions) out << "  - " << suggestion << "\n";
  }
  return out.str();
}

std::string FormatAlternatives(const std::vector<Alternative>& alternatives,
                               const MemoryPlan& plan) {
  std::map<int, std::map<KvType, const Alternative*>> table;
  for (const Alternative& alternative : alternatives) {
    table[alternative.context_tokens][alternative.kv_type] = &alternative;
  }
  std::ostringstream out;
  out << "which settings fit in " << FormatBytes(plan.budget.bytes)
      << " (sequences of that context at once; - = none):\n";
  char line[128];
  std::snprintf(line, sizeof(line), "  %10s %8s %8s %8s\n", "context", "f16", "q8_0", "q4_0");
  out << line;
  for (const auto& [context, row] : table) {
    std::string cells[3];
    int column = 0;
    for (KvType type : {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0}) {
      const auto found = row.find(type);
      std::string cell = "?";
      if (found != row.end()) {
        const int n = found->second->max_sequences;
        cell = n == 0 ? "-" : std::to_string(n) + (n >= kMaxListedSequences ? "+" : "");
      }
      cells[column++] = cell;
    }
    std::snprintf(line, sizeof(line), "  %10d %8s %8s %8s\n", context, cells[0].c_str(),
                  cells[1].c_str(), cells[2].c_str());
    out << line;
  }
  return out.str();
}

nlohmann::ordered_json PlanToJson(const MemoryPlan& plan, const ModelFacts& model) {
  nlohmann::ordered_json json;
  json["model"] = {{"architecture", model.spec.architecture},
                   {"name", model.spec.name},
                   {"layers", model.spec.layers.size()},
                   {"vocab_size", model.spec.vocab_size}};
  json["budget"] = {{"bytes", plan.budget.bytes},
                    {"source", plan.budget.source},
                    {"base_bytes", plan.budget.base_bytes},
                    {"reserve_bytes", plan.budget.reserve_bytes}};
  const ActivationBytes& a = plan.activations;
  const Overheads& o = plan.overheads;
  json["tenants"] = {{"weights_mapped_bytes", plan.weight_bytes},
                     {"weights_repacked_bytes", plan.repacked_bytes},
                     {"kv",
                      {{"type", KvTypeName(plan.kv_type)},
                       {"bytes", plan.kv_bytes},
                       {"bytes_per_token", plan.kv_bytes_per_token},
                       {"ring_bytes_per_sequence", plan.kv_ring_bytes_per_sequence}}},
                     {"activations",
                      {{"batch_tokens", plan.batch_tokens},
                       {"bytes", a.total()},
                       {"buffers_bytes", a.buffers},
                       {"matmul_scratch_bytes", a.matmul_scratch},
                       {"rope_tables_bytes", a.rope_tables},
                       {"experts_bytes", a.experts},
                       {"media_bytes", a.media},
                       {"max_image_tokens", plan.max_image_tokens}}},
                     {"logits", {{"rows", plan.logit_rows}, {"bytes", plan.logits_bytes}}},
                     {"prefix_cache_bytes", plan.prefix_cache_bytes},
                     {"overheads",
                      {{"bytes", o.total()},
                       {"thread_stacks_bytes", o.thread_stacks},
                       {"tokenizer_bytes", o.tokenizer},
                       {"http_buffers_bytes", o.http_buffers},
                       {"request_state_bytes", o.request_state},
                       {"runtime_margin_bytes", o.runtime_margin}}}};
  json["total_bytes"] = plan.total_bytes;
  json["headroom_bytes"] = plan.headroom_bytes;
  json["context_tokens"] = plan.context_tokens;
  json["sequences"] = plan.sequences;
  json["kv_pool_tokens"] = plan.kv_pool_tokens;
  json["max_context_tokens"] = plan.max_context_tokens;
  json["min_context_tokens"] = plan.min_context_tokens;
  json["fits"] = plan.fits;
  json["verdict"] = plan.verdict;
  json["suggestions"] = plan.suggestions;
  json["notes"] = plan.notes;
  return json;
}

nlohmann::ordered_json AlternativesToJson(const std::vector<Alternative>& alternatives) {
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  for (const Alternative& alternative : alternatives) {
    json.push_back({{"context_tokens", alternative.context_tokens},
                    {"kv_type", KvTypeName(alternative.kv_type)},
                    {"max_sequences", alternative.max_sequences},
                    {"fits", alternative.fits},
                    {"total_bytes_one_sequence", alternative.total_bytes}});
  }
  return json;
}

}  // namespace snug::memory
