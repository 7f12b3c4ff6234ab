// The hub's file list (hostile JSON), which files `snug pull` takes, URLs and digests.
#include <gtest/gtest.h>

#include "hub/digest.h"
#include "hub/http_client.h"
#include "hub/repo_files.h"

namespace snug::hub {
namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::string kBlob = "ce013625030ba8dba906f756967f9e9ca394464a";
const std::string kSha = std::string(64, 'a');

std::string Sibling(const std::string& name, bool lfs = false) {
  return R"({"rfilename":")" + name + R"(","size":6,"blobId":")" + kBlob + "\"" +
         (lfs ? R"(,"lfs":{"sha256":")" + kSha + R"(","size":6})" : "") + "}";
}

std::string Listing(const std::vector<std::string>& siblings) {
  std::string list;
  for (const std::string& sibling : siblings) list += (list.empty() ? "" : ",") + sibling;
  return R"({"id":"org/name","sha":")" + kCommit + R"(","siblings":[)" + list + "]}";
}

TEST(RepoFiles, ParsesSizesBlobIdsAndLfsHashes) {
  const auto info = ParseRepoInfo(
      Listing({Sibling("config.json"), Sibling("model.safetensors", true)}), "org/name");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->commit, kCommit);
  ASSERT_EQ(info->files.size(), 2u);
  EXPECT_EQ(info->files[0].blob_name(), kBlob);  // git blob id for small files
  EXPECT_EQ(info->files[1].blob_name(), kSha);   // sha256 for LFS files
  EXPECT_EQ(info->files[1].bytes, 6u);
}

TEST(RepoFiles, RefusesHostileListings) {
  const std::vector<std::string> bad = {
      "[]",
      R"({"sha":"nothex","siblings":[]})",
      Listing({Sibling("../escape")}),
      Listing({Sibling("/absolute")}),
      Listing({Sibling("a//b")}),
      Listing({Sibling(".hidden")}),
      Listing({Sibling("config.json"), Sibling("config.json")}),
      Listing({R"({"rfilename":"x","size":-1,"blobId":")" + kBlob + "\"}"}),
      Listing({R"({"rfilename":"x","size":1,"blobId":")" + kBlob +
               R"(","lfs":{"sha256":"short"}})"}),
  };
  for (const std::string& text : bad) {
    EXPECT_FALSE(ParseRepoInfo(text, "org/name").ok()) << text;
  }
}

TEST(RepoFiles, SelectsWhatSnugReads) {
  const auto info = ParseRepoInfo(
      Listing({Sibling("config.json"), Sibling("tokenizer.json"), Sibling("README.md"),
               Sibling("model-1.safetensors", true), Sibling("model-2.safetensors", true),
               Sibling("consolidated.safetensors", true), Sibling("model.safetensors.index.json"),
               Sibling("x.Q4_0.gguf", true)}),
      "org/name");
  ASSERT_TRUE(info.ok());
  const std::string index =
      R"({"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors"}})";
  const auto selected = SelectFiles(*info, "org/name", std::nullopt, index);
  ASSERT_TRUE(selected.ok()) << selected.status().message();
  std::vector<std::string> names;
  for (const RepoFile& file : *selected) names.push_back(file.path);
  EXPECT_EQ(names, (std::vector<std::string>{"config.json", "tokenizer.json", "model-1.safetensors",
                                             "model-2.safetensors",
                                             "model.safetensors.index.json"}));

  const auto gguf = SelectFiles(*info, "org/name", "x.Q4_0.gguf", std::nullopt);
  ASSERT_TRUE(gguf.ok());
  ASSERT_EQ(gguf->size(), 1u);
  EXPECT_FALSE(SelectFiles(*info, "org/name", "absent.gguf", std::nullopt).ok());
  // The index names a shard the repository lacks.
  EXPECT_FALSE(
      SelectFiles(*info, "org/name", std::nullopt, R"({"weight_map":{"a":"gone.safetensors"}})")
          .ok());
}

TEST(RepoFiles, NamesTheGgufFilesWhenThereAreNoSafetensors) {
  const auto info =
      ParseRepoInfo(Listing({Sibling("README.md"), Sibling("m-Q4_K_M.gguf", true)}), "org/name");
  ASSERT_TRUE(info.ok());
  const auto selected = SelectFiles(*info, "org/name", std::nullopt, std::nullopt);
  ASSERT_FALSE(selected.ok());
  EXPECT_NE(selected.status().message().find("--file: m-Q4_K_M.gguf"), std::string::npos);
}

TEST(RepoFiles, ResolvePathEncodesEachComponent) {
  hf::RepoName repo{.org = "org", .name = "name"};
  EXPECT_EQ(ResolvePath(repo, kCommit, "sub dir/a+b.json"),
            "/org/name/resolve/" + kCommit + "/sub%20dir/a%2Bb.json");
}

TEST(Digest, GitBlobIdAndSha256) {
  // `printf 'hello\n' | git hash-object --stdin` and `sha256sum`.
  EXPECT_EQ(*DigestBytes(Digest::kGitBlobSha1, "hello\n"), kBlob);
  EXPECT_EQ(*DigestBytes(Digest::kSha256, "hello\n"),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
}

TEST(HttpClient, ParsesUrls) {
  const auto url = ParseUrl("https://cdn.example:8443/a/b?x=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->origin, "https://cdn.example:8443");
  EXPECT_EQ(url->path, "/a/b?x=1");
  EXPECT_EQ(ParseUrl("http://host")->path, "/");
  EXPECT_FALSE(ParseUrl("ftp://host/x").ok());
  EXPECT_FALSE(ParseUrl("https:///x").ok());
  EXPECT_FALSE(ParseUrl("host/x").ok());
}

}  // namespace
}  // namespace snug::hub
