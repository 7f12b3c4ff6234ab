// The plan of a model on the hub (see remote_plan.h).
#include "cli/remote_plan.h"

#include <cstdlib>
#include <filesystem>

#include "memory/size.h"

namespace snug::cli {
namespace {

// A mkdtemp directory removed with everything in it when it goes out of scope.
class TemporaryDirectory {
 public:
  static Result<TemporaryDirectory> Make() {
    std::error_code error;
    std::string pattern = (std::filesystem::temp_directory_path(error) / "snug-plan-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return FailedPrecondition("plan: cannot create a temporary directory (" + pattern + ")");
    }
    return TemporaryDirectory(pattern);
  }
  TemporaryDirectory(TemporaryDirectory&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  TemporaryDirectory& operator=(TemporaryDirectory&&) = delete;
  ~TemporaryDirectory() {
    std::error_code error;
    if (!path_.empty()) std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TemporaryDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

Result<PlannedModel> PlanRemoteModel(const hub::HttpClient& client, const hub::RemoteModel& model,
                                     const PlanFlags& flags, const ServingFigures& serving) {
  ASSIGN_OR_RETURN(const TemporaryDirectory dir, TemporaryDirectory::Make());
  ASSIGN_OR_RETURN(const std::string path, hub::WriteSkeleton(client, model, dir.path()));
  ASSIGN_OR_RETURN(PlannedModel planned, PlanModel(path, flags, serving));
  planned.facts.spec.name = model.repo.id();
  return planned;
}

std::string PlanVerdictLine(const memory::MemoryPlan& plan) {
  using memory::FormatBytes;
  const std::string budget =
      FormatBytes(plan.budget.bytes) + " (" + plan.budget.source + ")";
  if (plan.fits) {
    return "fits in " + budget + ": " + std::to_string(plan.sequences) + " × " +
           std::to_string(plan.context_tokens) + " tokens, " + FormatBytes(plan.total_bytes) +
           " planned";
  }
  return "does not fit in " + budget + ": needs " + FormatBytes(plan.total_bytes) +
         " (weights " + FormatBytes(plan.weight_bytes + plan.repacked_bytes) + ")";
}

}  // namespace snug::cli
