// `snug plan MODEL [--memory 16GiB] [--ctx N] [--kv-type T] [--parallel N] [--json]`: the
// memory plan of a model file, from its metadata alone (no weight is read), and a table of the
// contexts and KV types that fit the budget. The same flags given to `snug serve` or `snug bench`
// give the same plan. Exit 0 when the plan fits, 1 when it does not or the file cannot be read.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/planned_engine.h"
#include "memory/plan_format.h"

namespace snug::cli {
namespace {

struct PlanCommandOptions {
  std::string model_path;
  PlanFlags flags;
  ServingFigures serving;
  bool json = false;
};

// Everything but printing; errors are the Status to print.
Status RunPlan(const PlanCommandOptions& options, bool* fits) {
  ASSIGN_OR_RETURN(const PlannedModel planned,
                   PlanModel(options.model_path, options.flags, options.serving));
  if (options.json) {
    nlohmann::ordered_json json = memory::PlanToJson(planned.plan, planned.facts);
    json["alternatives"] = memory::AlternativesToJson(
        memory::Alternatives(planned.facts, planned.options, planned.plan.budget));
    std::cout << json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    std::cout << FormatPlanReport(planned);
  }
  *fits = planned.plan.fits;
  return Status::Ok();
}

}  // namespace

void AddPlanCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "plan", "Show the memory plan of a model (reads only its metadata) and what fits");
  command->add_option("model", options->model_path, "GGUF file")->required();
  AddPlanFlags(*command, options->flags);
  command
      ->add_option("--max-queue", options->serving.max_queue,
                   "As serve's: the plan counts queued requests' prompts and connections")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  command
      ->add_option("--max-body-bytes", options->serving.max_body_bytes,
                   "As serve's: the plan counts a body per HTTP connection")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30));
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
