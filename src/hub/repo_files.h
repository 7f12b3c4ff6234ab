// A repository's files as the hub's API lists them (GET /api/models/ORG/NAME/revision/REV
// ?blobs=true): the commit, each file's size, git blob id and, for LFS files, sha256 — and the
// subset of them snug needs to run the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/hf_cache.h"
#include "hub/http_client.h"

namespace snug::hub {

struct RepoFile {
  std::string path;  // "model-00001-of-00002.safetensors", "sub/dir/file"
  uint64_t bytes = 0;
  std::string blob_id;                // git blob sha1 (the cache's blob name for non-LFS files)
  std::optional<std::string> sha256;  // LFS files: their content's sha256 (their blob name)

  // The name of the file's blob in the cache, as huggingface_hub names it (its ETag).
  const std::string& blob_name() const { return sha256 ? *sha256 : blob_id; }
};

struct RepoInfo {
  std::string commit;  // 40 hex digits
  std::vector<RepoFile> files;

  const RepoFile* Find(std::string_view path) const;
};

// Parses the API's answer; every field is checked (a path is relative, with no "..", no empty
// or hidden components; ids are hex). Errors name the repository.
Result<RepoInfo> ParseRepoInfo(std::string_view json_text, const std::string& repo_id);

// Fetches and parses the file list of `repo` at its revision.
Result<RepoInfo> FetchRepoInfo(const HttpClient& client, const hf::RepoName& repo);

// The files `snug serve` reads: config.json, the tokenizer files, chat template, generation
// config, the safetensors weights (the shards `index_json` names when the repository has
// model.safetensors.index.json, whose text the caller fetched; else model.safetensors, else every
// top-level .safetensors) — or, when `gguf_file` is given, that file alone. NotFound when the
// repository has no weights snug can read (naming the .gguf files it has, so the user can pick
// one with --file).
Result<std::vector<RepoFile>> SelectFiles(const RepoInfo& info, const std::string& repo_id,
                                          const std::optional<std::string>& gguf_file,
                                          const std::optional<std::string>& index_json);

inline constexpr std::string_view kIndexFile = "model.safetensors.index.json";

// "/ORG/NAME/resolve/COMMIT/PATH", each path component percent-encoded.
std::string ResolvePath(const hf::RepoName& repo, const std::string& commit,
                        const std::string& path);

}  // namespace snug::hub
