// `snug plan MODEL [--memory 16GiB] [--ctx N] [--kv-type T] [--parallel N] [--json]`: the
// memory plan of a model file, from its metadata alone (no weight is read), and a table of the
// contexts and KV types that fit the budget. Exit 0 when the plan fits, 1 when it does not or
// the file cannot be read.
#include "memory/plan.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "formats/gguf.h"
#include "memory/budget.h"
#include "memory/plan_format.h"
#include "memory/size.h"

namespace snug::cli {
namespace {

struct PlanCommandOptions {
  std::string model_path;
  std::string memory;
  std::string reserve;
  std::string prefix_cache;
  std::string kv_type = "f16";
  int context_tokens = 0;  // 0: as large as fits
  int min_context_tokens = 4096;
  int parallel = 0;  // 0: as many as fit, up to memory::kDefaultMaxSequences
  int batch_tokens = 512;
  int threads = 0;
  bool json = false;
};

Result<std::optional<int64_t>> OptionalSize(const std::string& text) {
  if (text.empty()) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(const int64_t bytes, memory::ParseSize(text));
  return std::optional<int64_t>(bytes);
}

// Everything but printing; errors are the Status to print.
Status RunPlan(const PlanCommandOptions& options, bool* fits) {
  ASSIGN_OR_RETURN(const gguf::File file, gguf::File::Open(options.model_path));
  ASSIGN_OR_RETURN(memory::ModelFacts facts, memory::ReadModelFacts(file));
  if (facts.spec.name.empty()) facts.spec.name = options.model_path;

  memory::BudgetOptions budget_options;
  ASSIGN_OR_RETURN(budget_options.memory_bytes, OptionalSize(options.memory));
  ASSIGN_OR_RETURN(budget_options.reserve_bytes, OptionalSize(options.reserve));
  ASSIGN_OR_RETURN(const memory::Budget budget,
                   memory::DecideBudget(budget_options, memory::ReadMachine()));

  memory::PlanOptions plan_options;
  const std::optional<KvType> kv_type = KvTypeFromName(options.kv_type);
  if (!kv_type) {
    return InvalidArgument("plan: --kv-type '" + options.kv_type + "' (f16, q8_0 or q4_0)");
  }
  plan_options.kv_type = *kv_type;
  if (options.context_tokens > 0) plan_options.context_tokens = options.context_tokens;
  plan_options.min_context_tokens = options.min_context_tokens;
  if (options.parallel > 0) plan_options.parallel = options.parallel;
  plan_options.batch_tokens = options.batch_tokens;
  plan_options.threads = options.threads > 0
                             ? options.threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ASSIGN_OR_RETURN(plan_options.prefix_cache_bytes, OptionalSize(options.prefix_cache));

  const memory::MemoryPlan plan = memory::Plan(facts, plan_options, budget);
  const std::vector<memory::Alternative> alternatives =
      memory::Alternatives(facts, plan_options, budget);
  if (options.json) {
    nlohmann::ordered_json json = memory::PlanToJson(plan, facts);
    json["alternatives"] = memory::AlternativesToJson(alternatives);
    std::cout << json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    std::cout << memory::FormatPlan(plan, facts) << "\n"
              << memory::FormatAlternatives(alternatives, plan);
  }
  *fits = plan.fits;
  return Status::Ok();
}

}  // namespace

void AddPlanCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "plan", "Show the memory plan of a model (reads only its metadata) and what fits");
  command->add_option("model", options->model_path, "GGUF file")->required();
  command->add_option("--memory", options->memory,
                      "Budget, e.g. 16GiB, 12G, 800MiB (default: from the machine)");
  command->add_option("--reserve", options->reserve,
                      "Memory left to the OS when the budget comes from the machine");
  command
      ->add_option("--ctx", options->context_tokens,
                   "Longest context per request (default: as large as fits)")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--min-ctx", options->min_context_tokens,
                   "Refuse when one sequence of this context does not fit (default 4096)")
      ->check(CLI::PositiveNumber);
  command->add_option("--kv-type", options->kv_type, "KV cache type: f16, q8_0, q4_0");
  command
      ->add_option("--parallel", options->parallel,
                   "Sequences at once (default: as many as fit, up to 4)")
      ->check(CLI::PositiveNumber);
  command->add_option("--batch-tokens", options->batch_tokens, "Largest prefill chunk")
      ->check(CLI::Range(1, 1 << 16));
  command->add_option("--threads", options->threads, "Compute threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--prefix-cache", options->prefix_cache,
                      "Prefix cache size (default: a tenth of the memory left after weights)");
  command->add_flag("--json", options->json, "Print one JSON object instead of tables");
  command->callback([options, &exit_code] {
    bool fits = false;
    const Status status = RunPlan(*options, &fits);
    if (!status.ok()) {
      std::cerr << status.message() << "\n";
      exit_code = 1;
      return;
    }
    exit_code = fits ? 0 : 1;
  });
}

}  // namespace snug::cli
