// Repository names and the Hugging Face cache layout (what huggingface_hub writes), resolved
// against a cache built in a temporary directory; and gguf::File::Compose.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "formats/gguf.h"
#include "formats/hf_cache.h"

namespace snug::hf {
namespace {

namespace fs = std::filesystem;

Getenv Env(std::map<std::string, std::string> values) {
  return [values](const char* name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(HfCacheTest, ParsesRepoNames) {
  const auto repo = ParseRepoName("mlx-community/gemma-4-12B-4bit");
  ASSERT_TRUE(repo.has_value());
  EXPECT_EQ(repo->org, "mlx-community");
  EXPECT_EQ(repo->name, "gemma-4-12B-4bit");
  EXPECT_EQ(repo->revision, "main");
  EXPECT_EQ(repo->id(), "mlx-community/gemma-4-12B-4bit");
  const auto pinned = ParseRepoName("openai/gpt-oss-20b@refs/pr/3");
  ASSERT_TRUE(pinned.has_value());
  EXPECT_EQ(pinned->revision, "refs/pr/3");
  for (const char* bad : {"model.gguf", "models/x/y.gguf", "/abs/path", "a/", "/b", "a/b@",
                          "a/b@../x", "../a/b", "a/.hidden", "a/b--c", "a/b c", "./x"}) {
    EXPECT_FALSE(ParseRepoName(bad).has_value()) << bad;
  }
}

TEST(HfCacheTest, CacheDirFollowsHuggingfaceHub) {
  EXPECT_EQ(CacheDir(Env({{"HF_HUB_CACHE", "/c"}, {"HF_HOME", "/h"}, {"HOME", "/u"}})), "/c");
  EXPECT_EQ(CacheDir(Env({{"HF_HOME", "/h"}, {"HOME", "/u"}})), "/h/hub");
  EXPECT_EQ(CacheDir(Env({{"XDG_CACHE_HOME", "/x"}, {"HOME", "/u"}})), "/x/huggingface/hub");
  EXPECT_EQ(CacheDir(Env({{"HOME", "/u"}})), "/u/.cache/huggingface/hub");
  const RepoName repo = *ParseRepoName("org/name");
  EXPECT_EQ(RepoDir("/c", repo), "/c/models--org--name");
}

TEST(HfCacheTest, ResolvesSnapshots) {
  const fs::path cache = fs::temp_directory_path() / ("snug_hf_cache_" + std::to_string(getpid()));
  fs::remove_all(cache);
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  const fs::path repo_dir = cache / "models--org--name";
  fs::create_directories(repo_dir / "refs");
  fs::create_directories(repo_dir / "snapshots" / commit);
  std::ofstream(repo_dir / "refs" / "main") << commit;  // huggingface_hub writes no newline

  ASSERT_EQ(SnapshotDir(cache.string(), *ParseRepoName("org/name")).value(),
            (repo_dir / "snapshots" / commit).string());
  EXPECT_TRUE(SnapshotDir(cache.string(), *ParseRepoName("org/name@" + commit)).ok());
  const Result<std::string> missing = SnapshotDir(cache.string(), *ParseRepoName("org/other"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("snug pull org/other"), std::string::npos);
  const Result<std::string> branch = SnapshotDir(cache.string(), *ParseRepoName("org/name@dev"));
  ASSERT_FALSE(branch.ok());
  EXPECT_NE(branch.status().message().find("snug pull org/name@dev"), std::string::npos);
  const std::string absent = "fedcba9876543210fedcba9876543210fedcba98";
  EXPECT_FALSE(SnapshotDir(cache.string(), *ParseRepoName("org/name@" + absent)).ok());
  fs::remove_all(cache);
}

TEST(ComposeTest, MetadataAndBorrowedTensors) {
  gguf::Writer writer;
  writer.SetString("general.architecture", "llama");
  writer.SetU32("llama.block_count", 2);
  auto data = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::vector<gguf::File::ComposedTensor> tensors;
  tensors.push_back({"token_embd.weight", {data->data(), DType::kF32, 2, {3, 2, 0, 0}}});
  tensors.push_back({"output_norm.weight", {data->data() + 4, DType::kF32, 1, {2, 0, 0, 0}}});
  Result<gguf::File> file = gguf::File::Compose(writer.WriteToMemory(), std::move(tensors), data);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const gguf::File moved = std::move(file).value();  // views survive the move
  EXPECT_EQ(moved.architecture(), "llama");
  EXPECT_EQ(moved.GetInt("llama.block_count").value(), 2);
  const gguf::TensorInfo* norm = moved.FindTensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->bytes, 8u);
  EXPECT_EQ(static_cast<const float*>(norm->view.data)[1], 6.0f);
  std::vector<gguf::File::ComposedTensor> twice = {
      {"a", {data->data(), DType::kF32, 1, {1, 0, 0, 0}}},
      {"a", {data->data(), DType::kF32, 1, {1, 0, 0, 0}}}};
  EXPECT_FALSE(gguf::File::Compose(writer.WriteToMemory(), std::move(twice), data).ok());
}

}  // namespace
}  // namespace snug::hf
