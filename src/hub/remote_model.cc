// Reading a hub repository for its plan (see remote_model.h).
#include "hub/remote_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "formats/gguf.h"
#include "formats/model_dir.h"
#include "formats/safetensors.h"

namespace snug::hub {
namespace {

namespace fs = std::filesystem;

bool IsWeightFile(const std::string& path) {
  return path.ends_with(".safetensors") || path.ends_with(".gguf");
}

// `file_bytes` of zeros (a hole) with `prefix` at the start.
Status WriteSparse(const std::string& path, std::string_view prefix, uint64_t file_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return FailedPrecondition("hub: cannot create " + path + ": " + std::strerror(errno));
  bool ok = ::ftruncate(fd, static_cast<off_t>(file_bytes)) == 0;
  size_t written = 0;
  while (ok && written < prefix.size()) {
    const ssize_t n = ::pwrite(fd, prefix.data() + written, prefix.size() - written,
                               static_cast<off_t>(written));
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (!ok) return FailedPrecondition("hub: cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status WriteSafetensorsSkeleton(const HttpClient& client, const std::string& url,
                                const RepoFile& file, const std::string& path) {
  if (file.bytes < 8) return DataLoss("hub: " + file.path + " is too short for safetensors");
  ASSIGN_OR_RETURN(const std::string first8, client.GetText(url, 8, 0, 7));
  if (first8.size() != 8) return DataLoss("hub: " + file.path + ": short read of its first bytes");
  ASSIGN_OR_RETURN(const uint64_t prefix_bytes,
                   safetensors::HeaderPrefixBytes(
                       {reinterpret_cast<const uint8_t*>(first8.data()), 8}, file.bytes));
  ASSIGN_OR_RETURN(const std::string prefix,
                   client.GetText(url, prefix_bytes, 0, prefix_bytes - 1));
  if (prefix.size() != prefix_bytes) {
    return DataLoss("hub: " + file.path + ": short read of its header");
  }
  RETURN_IF_ERROR(safetensors::ParseHeader(
                      {reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()}, file.bytes,
                      file.path)
                      .status());
  return WriteSparse(path, prefix, file.bytes);
}

// A GGUF's header has no length field: fetch a growing prefix until the parse ends inside it.
Status WriteGgufSkeleton(const HttpClient& client, const std::string& url, const RepoFile& file,
                         const std::string& path) {
  constexpr uint64_t kMaxGgufHeaderBytes = 512ull << 20;
  Status last = Status::Ok();
  for (uint64_t want = 1 << 20;; want *= 4) {
    const uint64_t bytes = std::min(want, file.bytes);
    ASSIGN_OR_RETURN(const std::string prefix, client.GetText(url, bytes, 0, bytes - 1));
    RETURN_IF_ERROR(WriteSparse(path, prefix, file.bytes));
    Result<gguf::File> parsed = gguf::File::Open(path);
    // Past the prefix the skeleton reads zeros: a parse is trusted only when it ended inside.
    if (parsed.ok() && parsed->data_offset() <= prefix.size()) return Status::Ok();
    if (!parsed.ok()) last = parsed.status();
    if (bytes == file.bytes) break;
    if (want >= kMaxGgufHeaderBytes) {
      return DataLoss("hub: " + file.path + ": no GGUF header in its first " +
                      std::to_string(kMaxGgufHeaderBytes) + " bytes");
    }
  }
  return last.ok() ? DataLoss("hub: " + file.path + ": unreadable GGUF header") : last;
}

}  // namespace

uint64_t RemoteModel::total_bytes() const {
  uint64_t total = 0;
  for (const RepoFile& file : files) total += file.bytes;
  return total;
}

Result<RemoteModel> ReadRemoteModel(const HttpClient& client, const hf::RepoName& repo,
                                    const std::optional<std::string>& gguf_file) {
  RemoteModel model;
  model.repo = repo;
  ASSIGN_OR_RETURN(model.info, FetchRepoInfo(client, repo));
  std::optional<std::string> index_json;
  if (!gguf_file && model.info.Find(kIndexFile) != nullptr) {
    ASSIGN_OR_RETURN(index_json,
                     client.GetText(ResolvePath(repo, model.info.commit, std::string(kIndexFile)),
                                    kMaxModelJsonBytes));
  }
  ASSIGN_OR_RETURN(model.files, SelectFiles(model.info, repo.id(), gguf_file, index_json));
  for (const RepoFile& file : model.files) {
    if (IsWeightFile(file.path)) continue;
    if (file.path == kIndexFile && index_json) {
      model.small[file.path] = *index_json;
      continue;
    }
    if (file.bytes > kMaxModelJsonBytes) {
      return DataLoss("hub: " + file.path + " is " + std::to_string(file.bytes) +
                      " bytes, too large for a model's JSON file");
    }
    ASSIGN_OR_RETURN(model.small[file.path],
                     client.GetText(ResolvePath(repo, model.info.commit, file.path),
                                    kMaxModelJsonBytes));
  }
  return model;
}

Result<std::string> WriteSkeleton(const HttpClient& client, const RemoteModel& model,
                                  const std::string& dir) {
  std::string plan_path = dir;
  for (const RepoFile& file : model.files) {
    const fs::path path = fs::path(dir) / file.path;
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    const std::string url = ResolvePath(model.repo, model.info.commit, file.path);
    if (const auto small = model.small.find(file.path); small != model.small.end()) {
      RETURN_IF_ERROR(WriteSparse(path, small->second, small->second.size()));
    } else if (file.path.ends_with(".gguf")) {
      RETURN_IF_ERROR(WriteGgufSkeleton(client, url, file, path));
      plan_path = path.string();
    } else {
      RETURN_IF_ERROR(WriteSafetensorsSkeleton(client, url, file, path));
    }
  }
  return plan_path;
}

// $HF_TOKEN, else the file `huggingface-cli login` saves ($HF_TOKEN_PATH, else $HF_HOME/token,
// else ~/.cache/huggingface/token), as huggingface_hub reads them.
std::optional<std::string> Token(const hf::Getenv& getenv) {
  if (auto token = getenv("HF_TOKEN")) return token;
  std::string path;
  if (auto file = getenv("HF_TOKEN_PATH")) {
    path = *file;
  } else if (auto home = getenv("HF_HOME")) {
    path = *home + "/token";
  } else if (auto xdg = getenv("XDG_CACHE_HOME")) {
    path = *xdg + "/huggingface/token";
  } else {
    path = getenv("HOME").value_or("") + "/.cache/huggingface/token";
  }
  Result<std::string> text = ReadTextFile(path, 4096);
  if (!text.ok()) return std::nullopt;
  std::string token = *text;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token.empty() ? std::nullopt : std::optional(token);
}

HttpClient ClientFromEnvironment(const hf::Getenv& getenv) {
  return HttpClient(getenv("HF_ENDPOINT").value_or(std::string(kDefaultEndpoint)), Token(getenv));
}

}  // namespace snug::hub
