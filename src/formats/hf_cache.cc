// Resolves repository names in the Hugging Face cache (see hf_cache.h).
#include "formats/hf_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace snug::hf {
namespace {

namespace fs = std::filesystem;

// The hub allows letters, digits, '-', '_' and '.' in both parts (not starting with '.' or '-',
// no "--" or ".."); revisions are git ref names or commits.
bool IsRepoPart(std::string_view part) {
  if (part.empty() || part.size() > 96 || part.front() == '.' || part.front() == '-') return false;
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return false;
  }
  for (const char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsRevision(std::string_view revision) {
  if (revision.empty() || revision.size() > 200 || revision.front() == '/' ||
      revision.back() == '/' || revision.find("..") != std::string_view::npos ||
      revision.find("//") != std::string_view::npos) {
    return false;
  }
  for (const char c : revision) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

std::string PullHint(const RepoName& repo) {
  return "download it with: snug pull " + repo.id() +
         (repo.revision == "main" ? "" : "@" + repo.revision);
}

}  // namespace

std::optional<RepoName> ParseRepoName(std::string_view text) {
  RepoName repo;
  const size_t at = text.find('@');
  if (at != std::string_view::npos) {
    repo.revision = std::string(text.substr(at + 1));
    text = text.substr(0, at);
    if (!IsRevision(repo.revision)) return std::nullopt;
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view org = text.substr(0, slash);
  const std::string_view name = text.substr(slash + 1);
  if (!IsRepoPart(org) || !IsRepoPart(name)) return std::nullopt;
  repo.org = std::string(org);
  repo.name = std::string(name);
  return repo;
}

Getenv ProcessEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::string CacheDir(const Getenv& getenv) {
  if (auto dir = getenv("HF_HUB_CACHE")) return *dir;
  if (auto dir = getenv("HUGGINGFACE_HUB_CACHE")) return *dir;  // the older name
  if (auto home = getenv("HF_HOME")) return *home + "/hub";
  if (auto xdg = getenv("XDG_CACHE_HOME")) return *xdg + "/huggingface/hub";
  return getenv("HOME").value_or("") + "/.cache/huggingface/hub";
}

std::string RepoDir(const std::string& cache_dir, const RepoName& repo) {
  return cache_dir + "/models--" + repo.org + "--" + repo.name;
}

bool IsCommitHash(std::string_view text) {
  if (text.size() != 40) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> SnapshotDir(const std::string& cache_dir, const RepoName& repo) {
  const std::string repo_dir = RepoDir(cache_dir, repo);
  std::error_code error;
  if (!fs::is_directory(repo_dir, error)) {
    return NotFound("model: '" + repo.id() + "' is not a file and not in the Hugging Face cache (" +
                    repo_dir + "); " + PullHint(repo));
  }
  std::string commit = repo.revision;
  if (!IsCommitHash(commit)) {
    std::ifstream ref(repo_dir + "/refs/" + repo.revision);
    if (!(ref >> commit) || !IsCommitHash(commit)) {
      return NotFound("model: '" + repo.id() + "' has no revision '" + repo.revision +
                      "' in the Hugging Face cache (" + repo_dir + "/refs); " + PullHint(repo));
    }
  }
  const std::string snapshot = repo_dir + "/snapshots/" + commit;
  if (!fs::is_directory(snapshot, error)) {
    return NotFound("model: '" + repo.id() + "' revision " + commit +
                    " is not in the Hugging Face cache (" + snapshot + "); " + PullHint(repo));
  }
  return snapshot;
}

}  // namespace snug::hf
