// A repository on the hub, read far enough to plan it before any weight is downloaded: the file
// list, the small files (config.json, tokenizer, ...) fetched whole, and each weight file's
// header fetched with Range requests (a safetensors file's 8-byte length then its JSON; a GGUF
// file's metadata and tensor infos). A "skeleton" directory then holds the small files and each
// weight file at its full size with only its header written (a sparse file: no disk space,
// zeros for the weights), so the memory plan reads it through the same code as a real model.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/hf_cache.h"
#include "hub/http_client.h"
#include "hub/repo_files.h"

namespace snug::hub {

struct RemoteModel {
  hf::RepoName repo;
  RepoInfo info;
  std::vector<RepoFile> files;                // what `snug pull` downloads
  std::map<std::string, std::string> small;   // path -> content of the non-weight files

  uint64_t total_bytes() const;
};

// The file list, the selection (see SelectFiles) and the small files' contents.
Result<RemoteModel> ReadRemoteModel(const HttpClient& client, const hf::RepoName& repo,
                                    const std::optional<std::string>& gguf_file);

// Writes the skeleton into `dir` (which must exist and be empty) and returns what to plan:
// `dir` itself, or the GGUF file in it.
Result<std::string> WriteSkeleton(const HttpClient& client, const RemoteModel& model,
                                  const std::string& dir);

// Environment: the client for $HF_ENDPOINT (default the public hub) with $HF_TOKEN, else the
// token file huggingface-cli saves ($HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token).
HttpClient ClientFromEnvironment(const hf::Getenv& getenv);

}  // namespace snug::hub
