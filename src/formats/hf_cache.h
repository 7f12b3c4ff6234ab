// The Hugging Face hub cache, as huggingface_hub (and so transformers and mlx-lm) lays it out:
//   <cache>/models--ORG--NAME/refs/<branch>          the commit a branch points at
//   <cache>/models--ORG--NAME/snapshots/<commit>/... the repository's files (links into blobs/)
//   <cache>/models--ORG--NAME/blobs/<etag>           the contents (sha256 for LFS files)
// <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub: the layout huggingface-cli and mlx-lm write; model names resolve
// through it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace snug::hf {

// "ORG/NAME[@REVISION]": what users type. REVISION is a branch, tag or commit (default main).
struct RepoName {
  std::string org;
  std::string name;
  std::string revision = "main";

  std::string id() const { return org + "/" + name; }  // "ORG/NAME"
};

// nullopt unless `text` has the shape of a repository name (one '/', hub-legal characters),
// so a path like "models/x.gguf" that does not exist is still reported as a missing file.
std::optional<RepoName> ParseRepoName(std::string_view text);

// Reads an environment variable; injectable for tests.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv ProcessEnvironment();

std::string CacheDir(const Getenv& getenv);
std::string RepoDir(const std::string& cache_dir, const RepoName& repo);  // .../models--ORG--NAME

bool IsCommitHash(std::string_view text);  // 40 lowercase hex digits

// The snapshot directory of the revision: a commit names its snapshot directly, a branch or tag
// is read from refs/. NotFound (saying how to download it) when the repository or revision is
// not in the cache.
Result<std::string> SnapshotDir(const std::string& cache_dir, const RepoName& repo);

}  // namespace snug::hf
