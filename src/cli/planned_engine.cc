// The plan from flags and metadata, and the engine started to it (see planned_engine.h).
#include "cli/planned_engine.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/flags.h"
#include "engine/loaded_model.h"
#include "models/hf_import.h"
#include "formats/gguf.h"
#include "memory/budget.h"
#include "memory/plan_format.h"
#include "memory/size.h"

namespace snug::cli {
namespace {

Result<std::optional<int64_t>> OptionalSize(const std::string& text) {
  if (text.empty()) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(const int64_t bytes, memory::ParseSize(text));
  return std::optional<int64_t>(bytes);
}

}  // namespace

void AddPlanFlags(CLI::App& command, PlanFlags& flags) {
  command
      .add_option("--memory", flags.memory,
                  "Budget, e.g. 16GiB, 12G, 800MiB (default: from the machine)")
      ->check(SizeWithUnit());
  command
      .add_option("--reserve", flags.reserve,
                  "Memory left to the OS when the budget comes from the machine")
      ->check(SizeWithUnit());
  command
      .add_option("-c,--ctx,--ctx-size", flags.context_tokens,
                  "Longest context per request, prompt + completion (default: as large as fits)")
      ->check(AtLeast(1));
  command
      .add_option("--min-ctx", flags.min_context_tokens,
                  "Refuse when one sequence of this context does not fit (the model's maximum "
                  "if smaller)")
      ->capture_default_str()
      ->check(AtLeast(1));
  AddKvTypeOption(command, flags.kv_type);
  command
      .add_option("--parallel", flags.parallel,
                  "Sequences at once (default: as many as fit, up to " +
                      std::to_string(memory::kDefaultMaxSequences) + ")")
      ->check(Between(1, 256));
  command
      .add_option("--batch-tokens", flags.batch_tokens, "Tokens per forward pass (prefill chunk)")
      ->capture_default_str()
      ->check(Between(1, 65536));
  command
      .add_option("--max-image-tokens", flags.max_image_tokens,
                  "Largest image a request may hold, in soft tokens (models that take images; "
                  "the batch grows to prefill one in a single chunk)")
      ->capture_default_str()
      ->check(Between(1, 16384));
  command.add_option("-t,--threads", flags.threads, "Compute threads (0 = one per core)")
      ->capture_default_str()
      ->check(AtLeast(0, "0 = one per core"));
  AddMlockFlag(command, flags.mlock);
  AddGpuLayersOption(command);
}

int ResolveThreads(int threads) {
  return threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int HttpConnections(int sequences, const ServingFigures& serving) {
  return std::min(sequences + serving.max_queue + serving.extra_connections, 1024);
}

Result<PlannedModel> PlanModel(const std::string& path, const PlanFlags& flags,
                               const ServingFigures& serving) {
  PlannedModel planned;
  {
    ASSIGN_OR_RETURN(const gguf::File file, OpenModelSource(path));
    ASSIGN_OR_RETURN(planned.facts, memory::ReadModelFacts(file));
  }
  if (planned.facts.spec.name.empty()) planned.facts.spec.name = path;

  memory::BudgetOptions budget_options;
  ASSIGN_OR_RETURN(budget_options.memory_bytes, OptionalSize(flags.memory));
  ASSIGN_OR_RETURN(budget_options.reserve_bytes, OptionalSize(flags.reserve));
  const memory::MachineReadings machine = memory::ReadMachine();
  ASSIGN_OR_RETURN(const memory::Budget budget, memory::DecideBudget(budget_options, machine));
  // A budget past what the machine has is a plan the kernel will not honour: say so, but let an
  // operator who knows better (swap, a machine being resized) go on.
  const int64_t machine_bytes = machine.cgroup_limit_bytes
                                    ? std::min(*machine.cgroup_limit_bytes, machine.physical_bytes)
                                    : machine.physical_bytes;
  if (budget_options.memory_bytes && machine_bytes > 0 &&
      *budget_options.memory_bytes > machine_bytes) {
    std::fprintf(stderr,
                 "snug: warning: --memory %s is more than this machine has (%s%s): the plan "
                 "may promise memory the machine cannot give, and the process may be killed\n",
                 flags.memory.c_str(), memory::FormatBytes(machine_bytes).c_str(),
                 machine.cgroup_limit_bytes ? ", its cgroup limit" : "");
  }

  memory::PlanOptions& options = planned.options;
  options.kv_type = flags.kv_type;
  if (flags.context_tokens > 0) options.context_tokens = flags.context_tokens;
  options.min_context_tokens = flags.min_context_tokens;
  if (flags.parallel > 0) options.parallel = flags.parallel;
  options.batch_tokens = flags.batch_tokens;
  options.max_image_tokens = flags.max_image_tokens;
  options.threads = ResolveThreads(flags.threads);
  options.lock_weights = flags.mlock;
  options.max_queue = serving.max_queue;
  if (serving.max_body_bytes > 0) {
    // The most sequences the plan may choose: the server's pool is sized for them.
    const int most_sequences = flags.parallel > 0 ? flags.parallel : memory::kDefaultMaxSequences;
    options.http_connections = HttpConnections(most_sequences, serving);
    options.max_body_bytes = serving.max_body_bytes;
    options.http_media_bytes = serving.media_bytes;
  } else {
    options.http_connections = 0;
    options.max_body_bytes = 0;
  }
  planned.plan = memory::Plan(planned.facts, options, budget);
  return planned;
}

std::string FormatPlanReport(const PlannedModel& planned) {
  return memory::FormatPlan(planned.plan, planned.facts) + "\n" +
         memory::FormatAlternatives(
             memory::Alternatives(planned.facts, planned.options, planned.plan.budget),
             planned.plan);
}

std::string PlanSummaryLine(const memory::MemoryPlan& plan) {
  using memory::FormatBytes;
  std::ostringstream line;
  line << "plan: " << plan.sequences << " × " << plan.context_tokens << " tokens, total "
       << FormatBytes(plan.total_bytes) << " (" << plan.total_bytes << " B) of a budget of "
       << FormatBytes(plan.budget.bytes) << " (" << plan.budget.bytes << " B, "
       << plan.budget.source << "), headroom " << FormatBytes(plan.headroom_bytes) << ": weights "
       << FormatBytes(plan.weight_bytes + plan.repacked_bytes) << ", KV "
       << KvTypeName(plan.kv_type) << " " << FormatBytes(plan.kv_bytes) << ", activations "
       << FormatBytes(plan.activations.total()) << ", logits " << FormatBytes(plan.logits_bytes)
       << ", overheads " << FormatBytes(plan.overheads.total());
  return line.str();
}

std::string PlanMetrics(const memory::MemoryPlan& plan) {
  std::ostringstream out;
  const auto gauge = [&out](const char* name, const char* help, int64_t value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
        << name << " " << value << "\n";
  };
  out << "# HELP snug_plan_bytes The memory plan's bytes per tenant.\n"
         "# TYPE snug_plan_bytes gauge\n";
  const std::pair<const char*, int64_t> tenants[] = {
      {"weights", plan.weight_bytes + plan.repacked_bytes},
      {"kv", plan.kv_bytes},
      {"activations", plan.activations.total()},
      {"logits", plan.logits_bytes},
      {"prefix_cache", plan.prefix_cache_bytes},
      {"overheads", plan.overheads.total()}};
  for (const auto& [tenant, bytes] : tenants) {
    out << "snug_plan_bytes{tenant=\"" << tenant << "\"} " << bytes << "\n";
  }
  gauge("snug_plan_total_bytes", "The memory plan's total.", plan.total_bytes);
  gauge("snug_plan_budget_bytes", "The memory budget the plan is held to.", plan.budget.bytes);
  gauge("snug_plan_headroom_bytes", "Budget minus the plan's total.", plan.headroom_bytes);
  gauge("snug_plan_context_tokens", "The longest context one request may use.",
        plan.context_tokens);
  gauge("snug_plan_sequences", "Sequences held at once (KV slots).", plan.sequences);
  return out.str();
}

EngineOptions EngineOptionsFor(const memory::MemoryPlan& plan, int max_queue) {
  return EngineOptions{.parallel = plan.sequences,
                       .context_tokens = plan.context_tokens,
                       .batch_tokens = plan.batch_tokens,
                       .max_queue = max_queue,
                       .kv_type = plan.kv_type,
                       .max_image_tokens = plan.max_image_tokens};
}

Result<StartedEngine> StartPlannedEngine(const std::string& path, const PlannedModel& planned,
                                         int max_queue, ThreadPool& pool) {
  CHECK(planned.plan.fits) << "StartPlannedEngine on a plan that does not fit";
  const int threads = planned.options.threads;
  ASSIGN_OR_RETURN(
      LoadedModel loaded,
      LoadModelFile(path, {.batch_tokens = planned.plan.batch_tokens, .threads = threads}, pool,
                    planned.options.lock_weights ? WeightResidency::kLock
                                                 : WeightResidency::kPrefetch));
  tokenizer::Tokenizer tokenizer = loaded.tokenizer;  // shares the tables
  ASSIGN_OR_RETURN(
      std::unique_ptr<Engine> engine,
      StartEngine(std::move(loaded), EngineOptionsFor(planned.plan, max_queue)));
  return StartedEngine{std::move(engine), std::move(tokenizer)};
}

}  // namespace snug::cli
