// `snug pull ORG/NAME[@REVISION] [--file X.gguf] [--memory 16GiB] [--force]`: downloads the files
// snug needs from the Hugging Face Hub ($HF_ENDPOINT, $HF_TOKEN) into the Hugging Face cache,
// where `snug serve ORG/NAME` (and huggingface-cli, transformers, mlx-lm) find them. The memory
// plan's verdict comes first, from config.json and the weights' headers alone: a model that
// cannot fit the budget is not downloaded unless --force. Exit 0 when the model is in the cache.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/remote_plan.h"
#include "hub/cache_writer.h"
#include "hub/progress.h"
#include "memory/plan_format.h"

namespace snug::cli {
namespace {

struct PullOptions {
  std::string name;
  std::string file;  // --file: one GGUF file of the repository
  PlanFlags flags;
  bool force = false;
  bool quiet = false;
};

Status Pull(const PullOptions& options) {
  const std::optional<hf::RepoName> repo = hf::ParseRepoName(options.name);
  if (!repo) {
    return InvalidArgument("pull: '" + options.name +
                           "' is not a repository name (ORG/NAME or ORG/NAME@REVISION)");
  }
  const hf::Getenv getenv = hf::ProcessEnvironment();
  const hub::HttpClient client = hub::ClientFromEnvironment(getenv);
  const std::optional<std::string> gguf_file =
      options.file.empty() ? std::nullopt : std::optional(options.file);
  ASSIGN_OR_RETURN(const hub::RemoteModel model, hub::ReadRemoteModel(client, *repo, gguf_file));
  std::fprintf(stderr, "snug: %s@%s: %zu files, %s\n", repo->id().c_str(),
               model.info.commit.c_str(), model.files.size(),
               hub::FormatBytes(model.total_bytes()).c_str());

  Result<PlannedModel> planned = PlanRemoteModel(client, model, options.flags, ServingFigures{});
  if (!planned.ok()) {
    if (!options.force) {
      return FailedPrecondition(planned.status().message() +
                                "\npull: snug cannot plan this model, so it would not run it; "
                                "not downloading (--force downloads anyway)");
    }
    std::fprintf(stderr, "snug: warning: %s (downloading anyway: --force)\n",
                 planned.status().message().c_str());
  } else {
    std::fprintf(stderr, "snug: plan: %s\n", PlanVerdictLine(planned->plan).c_str());
    if (!planned->plan.fits) {
      if (!options.force) {
        std::cerr << FormatPlanReport(*planned);
        return ResourceExhausted("pull: " + repo->id() + " " + PlanVerdictLine(planned->plan) +
                                 "; not downloading (--force downloads anyway, --memory plans "
                                 "for another machine)");
      }
      std::fprintf(stderr, "snug: downloading anyway (--force)\n");
    }
  }

  hub::CacheWriter writer(client, *repo, hf::CacheDir(getenv), model.info.commit);
  hub::Progress progress(model.total_bytes(), !options.quiet && ::isatty(STDERR_FILENO));
  for (const hub::RepoFile& file : model.files) {
    const auto small = model.small.find(file.path);
    RETURN_IF_ERROR(writer.Fetch(file, progress,
                                 small == model.small.end() ? std::nullopt
                                                            : std::optional(small->second)));
  }
  RETURN_IF_ERROR(writer.WriteRef(repo->revision));
  progress.Finish();
  const double seconds = progress.seconds();
  std::fprintf(stderr, "snug: pulled %s into %s/snapshots/%s: %s downloaded in %.1f s (%s/s)\n",
               options.name.c_str(), writer.repo_dir().c_str(), model.info.commit.c_str(),
               hub::FormatBytes(progress.transferred_bytes()).c_str(), seconds,
               hub::FormatBytes(static_cast<uint64_t>(progress.transferred_bytes() /
                                                      std::max(seconds, 1e-3)))
                   .c_str());
  std::printf("%s\n", options.name.c_str());
  return Status::Ok();
}

}  // namespace

void AddPullCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PullOptions>();
  CLI::App* command = app.add_subcommand(
      "pull", "Download a model from the Hugging Face Hub into the local Hugging Face cache");
  command->add_option("model", options->name, "ORG/NAME or ORG/NAME@REVISION")->required();
  command->add_option("--file", options->file,
                      "Download this GGUF file of the repository (instead of its safetensors)");
  AddPlanFlags(*command, options->flags);
  command->add_flag("--force", options->force,
                    "Download even when the memory plan says the model does not fit");
  command->add_flag("-q,--quiet", options->quiet, "No progress line");
  command->callback([options, &exit_code] { exit_code = ExitCode(Pull(*options)); });
}

}  // namespace snug::cli
