// Writes downloaded files into the Hugging Face cache exactly as huggingface_hub does, so
// huggingface-cli, transformers and mlx-lm see them too (the layout is in formats/hf_cache.h):
// a file is fetched into blobs/<name>.incomplete (resumed with a Range request when one is
// there), its size and digest checked (sha256 for LFS files, the git blob id otherwise), then
// renamed to blobs/<name>; snapshots/<commit>/<path> is a relative link to it and refs/<branch>
// holds the commit. A corrupt file never becomes a blob.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "formats/hf_cache.h"
#include "hub/http_client.h"
#include "hub/progress.h"
#include "hub/repo_files.h"

namespace snug::hub {

struct FetchPolicy {
  int attempts = 5;  // network failures resumed from the .incomplete file, per file
  int refetches = 1;  // digest mismatches fetched again from byte 0, per file
};

class CacheWriter {
 public:
  CacheWriter(const HttpClient& client, const hf::RepoName& repo, std::string cache_dir,
              std::string commit, FetchPolicy policy = {});

  const std::string& repo_dir() const { return repo_dir_; }
  std::string BlobPath(const RepoFile& file) const;

  // Fetches the file (unless its blob is already there) and links it into the snapshot.
  // `fetched`: its content when the caller already has it (the small files read for the plan).
  Status Fetch(const RepoFile& file, Progress& progress,
               const std::optional<std::string>& fetched = std::nullopt);
  // refs/<revision> = the commit (a commit revision has no ref, as huggingface_hub does).
  Status WriteRef(const std::string& revision) const;

 private:
  Status Download(const RepoFile& file, const std::string& partial, Progress& progress) const;
  Status Verify(const RepoFile& file, const std::string& partial) const;
  Status Link(const RepoFile& file) const;

  const HttpClient& client_;
  hf::RepoName repo_;
  std::string repo_dir_;
  std::string commit_;
  FetchPolicy policy_;
};

}  // namespace snug::hub
