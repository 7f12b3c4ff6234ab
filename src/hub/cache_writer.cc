// The Hugging Face cache writer (see cache_writer.h).
#include "hub/cache_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <unistd.h>

#include "hub/digest.h"

namespace snug::hub {
namespace {

namespace fs = std::filesystem;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

uint64_t SizeOr0(const std::string& path) {
  std::error_code error;
  const uint64_t bytes = fs::file_size(path, error);
  return error ? 0 : bytes;
}

Status MakeDirectories(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return FailedPrecondition("hub: cannot create " + dir.string() + ": " + error.message());
  return Status::Ok();
}

}  // namespace

CacheWriter::CacheWriter(const HttpClient& client, const hf::RepoName& repo, std::string cache_dir,
                         std::string commit, FetchPolicy policy)
    : client_(client),
      repo_(repo),
      repo_dir_(hf::RepoDir(cache_dir, repo)),
      commit_(std::move(commit)),
      policy_(policy) {}

std::string CacheWriter::BlobPath(const RepoFile& file) const {
  return repo_dir_ + "/blobs/" + file.blob_name();
}

Status CacheWriter::Fetch(const RepoFile& file, Progress& progress,
                          const std::optional<std::string>& fetched) {
  RETURN_IF_ERROR(MakeDirectories(repo_dir_ + "/blobs"));
  const std::string blob = BlobPath(file);
  std::error_code error;
  if (fs::is_regular_file(blob, error) && SizeOr0(blob) == file.bytes) {
    progress.Skip(file.bytes);  // verified when it was moved there
    return Link(file);
  }
  const std::string partial = blob + ".incomplete";
  if (fetched) {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(fetched->data(), static_cast<std::streamsize>(fetched->size()));
    if (!out.flush()) return FailedPrecondition("hub: cannot write " + partial);
    progress.Skip(fetched->size());
  }
  Status status = Status::Ok();
  for (int refetch = 0; refetch <= policy_.refetches; ++refetch) {
    if (!fetched || refetch > 0) RETURN_IF_ERROR(Download(file, partial, progress));
    status = Verify(file, partial);
    if (status.ok()) break;
    fs::remove(partial, error);  // a corrupt file is never resumed, never a blob
  }
  if (!status.ok()) return status;
  fs::rename(partial, blob, error);
  if (error) return FailedPrecondition("hub: cannot move " + partial + " to " + blob);
  return Link(file);
}

Status CacheWriter::Download(const RepoFile& file, const std::string& partial,
                             Progress& progress) const {
  const std::string path = ResolvePath(repo_, commit_, file.path);
  Status last = Status::Ok();
  for (int attempt = 0; attempt < policy_.attempts; ++attempt) {
    uint64_t offset = SizeOr0(partial);
    if (offset > file.bytes) offset = 0;  // not this file: start again
    if (offset == file.bytes && offset > 0) return Status::Ok();
    if (attempt == 0) progress.Skip(offset);
    std::unique_ptr<std::FILE, FileCloser> out(
        std::fopen(partial.c_str(), offset > 0 ? "r+b" : "wb"));
    if (out == nullptr || std::fseek(out.get(), static_cast<long>(offset), SEEK_SET) != 0) {
      return FailedPrecondition("hub: cannot write " + partial + ": " + std::strerror(errno));
    }
    bool first_chunk = true;
    std::string problem;
    last = client_.Get(path, offset, std::nullopt,
                       [&](const ResponseHead& head, std::string_view bytes) {
                         if (first_chunk) {
                           first_chunk = false;
                           if (offset > 0 && head.status == 200) {
                             // The server ignored the Range: take the whole file again.
                             std::fseek(out.get(), 0, SEEK_SET);
                             if (ftruncate(fileno(out.get()), 0) != 0) {
                               problem = "cannot truncate " + partial;
                               return false;
                             }
                             offset = 0;
                           } else if (head.status == 206 && head.range_start != offset) {
                             problem = "the server answered a different range";
                             return false;
                           }
                         }
                         if (offset + bytes.size() > file.bytes) {
                           problem = "the server sent more than the hub's " +
                                     std::to_string(file.bytes) + " bytes";
                           return false;
                         }
                         if (std::fwrite(bytes.data(), 1, bytes.size(), out.get()) !=
                             bytes.size()) {
                           problem = std::string("cannot write ") + partial + ": " +
                                     std::strerror(errno);
                           return false;
                         }
                         offset += bytes.size();
                         progress.Add(bytes.size());
                         return true;
                       });
    if (std::fflush(out.get()) != 0) {
      return FailedPrecondition("hub: cannot write " + partial + ": " + std::strerror(errno));
    }
    if (!problem.empty()) return DataLoss("hub: " + file.path + ": " + problem);
    if (last.ok() && offset == file.bytes) return Status::Ok();
    if (last.ok()) {
      last = Unavailable("hub: " + file.path + ": the transfer ended at byte " +
                         std::to_string(offset) + " of " + std::to_string(file.bytes));
    }
    // Only network failures are worth another try; a 404 or 401 will not change.
    if (last.code() != StatusCode::kUnavailable) return last;
  }
  return Unavailable(last.message() + " (gave up after " + std::to_string(policy_.attempts) +
                     " attempts; run the same command again to resume from " + partial + ")");
}

Status CacheWriter::Verify(const RepoFile& file, const std::string& partial) const {
  const uint64_t bytes = SizeOr0(partial);
  if (bytes != file.bytes) {
    return DataLoss("hub: " + file.path + ": got " + std::to_string(bytes) + " bytes, the hub says " +
                    std::to_string(file.bytes));
  }
  const Digest kind = file.sha256 ? Digest::kSha256 : Digest::kGitBlobSha1;
  ASSIGN_OR_RETURN(const std::string digest, DigestFile(kind, partial));
  if (digest != file.blob_name()) {
    return DataLoss("hub: " + file.path + ": " +
                    (file.sha256 ? "sha256 " : "git blob id ") + digest +
                    " does not match the hub's " + file.blob_name() +
                    " (corrupted in transfer, or a mirror serving other content); not kept");
  }
  return Status::Ok();
}

Status CacheWriter::Link(const RepoFile& file) const {
  const fs::path link = fs::path(repo_dir_) / "snapshots" / commit_ / file.path;
  RETURN_IF_ERROR(MakeDirectories(link.parent_path()));
  // Relative, as huggingface_hub writes it: the cache can be moved.
  std::string target = "../../";
  for (const char c : file.path) {
    if (c == '/') target += "../";
  }
  target += "blobs/" + file.blob_name();
  std::error_code error;
  fs::remove(link, error);
  fs::create_symlink(target, link, error);
  if (error) {
    return FailedPrecondition("hub: cannot link " + link.string() + ": " + error.message());
  }
  return Status::Ok();
}

Status CacheWriter::WriteRef(const std::string& revision) const {
  if (hf::IsCommitHash(revision)) return Status::Ok();
  const fs::path ref = fs::path(repo_dir_) / "refs" / revision;
  RETURN_IF_ERROR(MakeDirectories(ref.parent_path()));
  std::ofstream out(ref, std::ios::trunc);
  out << commit_;
  if (!out.flush()) return FailedPrecondition("hub: cannot write " + ref.string());
  return Status::Ok();
}

}  // namespace snug::hub
