// `snug plan MODEL [--memory 16GiB] [--ctx N] [--kv-type T] [--parallel N] [--json]`: the
// memory plan of a model file, from its metadata alone (no weight is read), and a table of the
// contexts and KV types that fit the budget. The same flags given to `snug serve` or `snug bench`
// give the same plan. Exit 0 when the plan fits, 1 when it does not or the file cannot be read.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/planned_engine.h"
#include "cli/remote_plan.h"
#include "memory/plan_format.h"

namespace snug::cli {
namespace {

struct PlanCommandOptions {
  ModelArgument model;
  std::string model_path;  // resolved from `model`
  PlanFlags flags;
  ServingFigures serving;
  std::string file;  // --file: a GGUF file of a repository on the hub
  bool json = false;
};

// A local file or directory, a repository in the Hugging Face cache, or else a repository on
// the hub, planned from its config.json and weight headers without downloading the weights.
Result<PlannedModel> PlanLocalOrRemote(const PlanCommandOptions& options) {
  const std::string& name = options.model_path;
  std::error_code error;
  const std::optional<hf::RepoName> repo = hf::ParseRepoName(name);
  const hf::Getenv getenv = hf::ProcessEnvironment();
  const bool cached = repo && hf::SnapshotDir(hf::CacheDir(getenv), *repo).ok();
  if (std::filesystem::exists(name, error) || !repo || (cached && options.file.empty())) {
    return PlanModel(name, options.flags, options.serving);
  }
  const hub::HttpClient client = hub::ClientFromEnvironment(getenv);
  const std::optional<std::string> gguf_file =
      options.file.empty() ? std::nullopt : std::optional(options.file);
  ASSIGN_OR_RETURN(const hub::RemoteModel model, hub::ReadRemoteModel(client, *repo, gguf_file));
  std::cerr << "snug: " << repo->id() << " is not in the local Hugging Face cache: planned from "
            << client.endpoint() << " (its config and the weights' headers only)\n";
  return PlanRemoteModel(client, model, options.flags, options.serving);
}

// Everything but printing; errors are the Status to print.
Status RunPlan(const PlanCommandOptions& options, bool* fits) {
  ASSIGN_OR_RETURN(const PlannedModel planned,
                   PlanLocalOrRemote(options));
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
  AddModelArgument(*command, options->model);
  AddPlanFlags(*command, options->flags);
  command
      ->add_option("--max-queue", options->serving.max_queue,
                   "As serve's: the plan counts queued requests' prompts and connections")
      ->capture_default_str()
      ->check(Between(0, 4096));
  command
      ->add_option("--max-body-bytes", options->serving.max_body_bytes,
                   "As serve's: the plan counts a body per HTTP connection")
      ->capture_default_str()
      ->check(Between(1024, 1 << 30));
  command->add_option("--file", options->file,
                      "For ORG/NAME on the hub: plan this GGUF file of the repository");
  command->add_flag("--json", options->json, "Print one JSON object instead of tables");
  command->callback([options, &exit_code] {
    options->model_path = ResolveModel(options->model);
    bool fits = false;
    exit_code = ExitCode(RunPlan(*options, &fits));
    if (exit_code == 0 && !fits) exit_code = 1;
  });
}

}  // namespace snug::cli
