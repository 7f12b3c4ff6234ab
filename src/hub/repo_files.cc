// The hub's file list and the files snug needs (see repo_files.h).
#include "hub/repo_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/safetensors.h"

namespace snug::hub {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxApiBytes = 16ull << 20;  // a repository with ~100k files

bool IsHex(std::string_view text, size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A relative path that stays inside the snapshot directory.
bool IsSafePath(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part.front() == '.') return false;  // "", ".", "..", hidden files
    start = slash + 1;
  }
  return path.find('\0') == std::string_view::npos && path.find('\\') == std::string_view::npos;
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The small files a model directory may hold besides its weights (formats/model_dir.h).
constexpr std::string_view kSmallFiles[] = {
    "config.json",          "tokenizer.json",          "tokenizer_config.json",
    "chat_template.jinja",  "generation_config.json",  "special_tokens_map.json",
};

bool IsTopLevel(std::string_view path) { return path.find('/') == std::string_view::npos; }

}  // namespace

const RepoFile* RepoInfo::Find(std::string_view path) const {
  for (const RepoFile& file : files) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

Result<RepoInfo> ParseRepoInfo(std::string_view json_text, const std::string& repo_id) {
  const std::string where = "hub: the file list of '" + repo_id + "'";
  const json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) return DataLoss(where + " is not a JSON object");
  RepoInfo info;
  const auto sha = root.find("sha");
  if (sha == root.end() || !sha->is_string() || !IsHex(sha->get<std::string>(), 40)) {
    return DataLoss(where + " has no commit ('sha')");
  }
  info.commit = sha->get<std::string>();
  const auto siblings = root.find("siblings");
  if (siblings == root.end() || !siblings->is_array()) {
    return DataLoss(where + " has no 'siblings' list");
  }
  std::set<std::string> seen;
  for (const json& entry : *siblings) {
    RepoFile file;
    if (!entry.is_object() || !entry.contains("rfilename") || !entry["rfilename"].is_string()) {
      return DataLoss(where + ": an entry without 'rfilename'");
    }
    file.path = entry["rfilename"].get<std::string>();
    if (!IsSafePath(file.path)) return DataLoss(where + ": unsafe file name '" + file.path + "'");
    if (!seen.insert(file.path).second) return DataLoss(where + ": '" + file.path + "' twice");
    if (!entry.contains("size") || !entry["size"].is_number_unsigned() ||
        !entry.contains("blobId") || !entry["blobId"].is_string() ||
        !IsHex(entry["blobId"].get<std::string>(), 40)) {
      return DataLoss(where + ": '" + file.path + "' has no size or blobId (was ?blobs=true lost?)");
    }
    file.bytes = entry["size"].get<uint64_t>();
    file.blob_id = entry["blobId"].get<std::string>();
    if (const auto lfs = entry.find("lfs"); lfs != entry.end() && !lfs->is_null()) {
      if (!lfs->is_object() || !lfs->contains("sha256") || !(*lfs)["sha256"].is_string() ||
          !IsHex((*lfs)["sha256"].get<std::string>(), 64)) {
        return DataLoss(where + ": '" + file.path + "' has an LFS entry without a sha256");
      }
      file.sha256 = (*lfs)["sha256"].get<std::string>();
      if (lfs->contains("size") && (*lfs)["size"].is_number_unsigned()) {
        file.bytes = (*lfs)["size"].get<uint64_t>();
      }
    }
    info.files.push_back(std::move(file));
  }
  return info;
}

Result<RepoInfo> FetchRepoInfo(const HttpClient& client, const hf::RepoName& repo) {
  const std::string path = "/api/models/" + repo.org + "/" + repo.name + "/revision/" +
                           PercentEncode(repo.revision, /*keep_slash=*/false) + "?blobs=true";
  ASSIGN_OR_RETURN(const std::string text, client.GetText(path, kMaxApiBytes));
  return ParseRepoInfo(text, repo.id());
}

Result<std::vector<RepoFile>> SelectFiles(const RepoInfo& info, const std::string& repo_id,
                                          const std::optional<std::string>& gguf_file,
                                          const std::optional<std::string>& index_json) {
  std::vector<RepoFile> selected;
  if (gguf_file) {
    const RepoFile* file = info.Find(*gguf_file);
    if (file == nullptr) {
      return NotFound("hub: '" + repo_id + "' has no file '" + *gguf_file + "'");
    }
    selected.push_back(*file);
    return selected;
  }
  std::vector<std::string> weights;
  if (index_json) {
    ASSIGN_OR_RETURN(const auto weight_map, safetensors::ParseIndex(*index_json));
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : weight_map) shards.insert(shard);
    weights.assign(shards.begin(), shards.end());
    weights.emplace_back(kIndexFile);
  } else if (info.Find("model.safetensors") != nullptr) {
    weights.emplace_back("model.safetensors");
  } else {
    for (const RepoFile& file : info.files) {
      if (IsTopLevel(file.path) && file.path.ends_with(".safetensors")) weights.push_back(file.path);
    }
  }
  if (weights.empty()) {
    std::string ggufs;
    for (const RepoFile& file : info.files) {
      if (file.path.ends_with(".gguf")) ggufs += (ggufs.empty() ? "" : ", ") + file.path;
    }
    return NotFound("hub: '" + repo_id + "' has no safetensors weights" +
                    (ggufs.empty() ? std::string(" and no GGUF file")
                                   : "; pick one of its GGUF files with --file: " + ggufs));
  }
  if (info.Find("config.json") == nullptr) {
    return NotFound("hub: '" + repo_id + "' has no config.json, so it is not a model snug reads");
  }
  for (const std::string_view name : kSmallFiles) {
    if (const RepoFile* file = info.Find(name)) selected.push_back(*file);
  }
  for (const std::string& name : weights) {
    const RepoFile* file = info.Find(name);
    if (file == nullptr) {
      return NotFound("hub: '" + repo_id + "': " + std::string(kIndexFile) + " names '" + name +
                      "', which the repository does not have");
    }
    selected.push_back(*file);
  }
  return selected;
}

std::string ResolvePath(const hf::RepoName& repo, const std::string& commit,
                        const std::string& path) {
  return "/" + repo.org + "/" + repo.name + "/resolve/" + commit + "/" +
         PercentEncode(path, /*keep_slash=*/true);
}

}  // namespace snug::hub
