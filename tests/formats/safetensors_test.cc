// The safetensors reader against valid files from the writer and against every corruption the
// validation names; sharded checkpoints and model directories on disk.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "formats/model_dir.h"
#include "formats/safetensors.h"
#include "tensor/fp16.h"

namespace snug::safetensors {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                              \
  do {                                               \
    const ::snug::Status status_ = (expr);           \
    ASSERT_TRUE(status_.ok()) << status_.message();  \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                \
  auto SNUG_CONCAT(result_, __LINE__) = (expr);                        \
  ASSERT_TRUE(SNUG_CONCAT(result_, __LINE__).ok())                     \
      << SNUG_CONCAT(result_, __LINE__).status().message();           \
  lhs = std::move(*SNUG_CONCAT(result_, __LINE__))

// A file from raw header text and `data_bytes` bytes of data (0, 1, 2, ...).
std::vector<uint8_t> RawFile(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> bytes(8 + header.size() + data_bytes);
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  for (size_t i = 0; i < data_bytes; ++i) bytes[8 + header.size() + i] = static_cast<uint8_t>(i);
  return bytes;
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  const Result<File> file = File::Parse(bytes);
  EXPECT_FALSE(file.ok());
  return file.ok() ? "" : file.status().message();
}

void Iota(std::span<uint8_t> bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
}

TEST(SafetensorsTest, WriterRoundTrip) {
  Writer writer;
  writer.SetMetadata("format", "mlx");
  writer.AddTensor("model.embed_tokens.weight", ElementType::kBF16, {6, 8}, Iota);
  writer.AddTensor("model.layers.0.self_attn.q_proj.weight", ElementType::kU32, {4, 2}, Iota);
  writer.AddTensor("model.norm.weight", ElementType::kF32, {8}, Iota);
  writer.AddTensor("empty", ElementType::kF16, {0, 3}, Iota);
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  ASSERT_EQ((bytes.size() - 6 * 8 * 2 - 4 * 2 * 4 - 8 * 4) % 8, 0u);  // header padded to 8
  ASSERT_OK_AND_ASSIGN(const File file, File::Parse(bytes));
  ASSERT_EQ(file.tensors().size(), 4u);
  ASSERT_EQ(file.header().metadata.size(), 1u);
  EXPECT_EQ(file.header().metadata[0].second, "mlx");
  const TensorInfo* embed = file.Find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->type, ElementType::kBF16);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(embed->bytes(), 96u);
  const std::span<const uint8_t> data = file.Data(*embed);
  EXPECT_EQ(data.data(), bytes.data() + file.header().data_offset());  // a view, not a copy
  EXPECT_EQ(data[5], static_cast<uint8_t>(5 * 7 + 1));
  ASSERT_OK_AND_ASSIGN(const TensorView view, FloatView(*embed, data));
  EXPECT_EQ(view.dtype, DType::kBF16);
  EXPECT_EQ(view.rows(), 6);
  EXPECT_EQ(view.cols(), 8);
  const TensorInfo* packed = file.Find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(packed, nullptr);
  EXPECT_FALSE(FloatView(*packed, file.Data(*packed)).ok());
  const TensorInfo* empty = file.Find("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->bytes(), 0u);
  EXPECT_FALSE(FloatView(*empty, file.Data(*empty)).ok());
}

TEST(SafetensorsTest, HeaderLengthChecks) {
  EXPECT_NE(ErrorOf({1, 2, 3}).find("truncated"), std::string::npos);
  std::vector<uint8_t> huge(16, 0);
  const uint64_t length = kMaxHeaderBytes + 1;
  std::memcpy(huge.data(), &length, 8);
  EXPECT_NE(ErrorOf(huge).find("over the limit"), std::string::npos);
  std::vector<uint8_t> past = RawFile("{}", 0);
  const uint64_t longer = 100;
  std::memcpy(past.data(), &longer, 8);
  EXPECT_NE(ErrorOf(past).find("declares 100 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("[1,2]", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("{\"a\":", 0)).find("not valid JSON"), std::string::npos);
  const std::vector<uint8_t> empty_bytes = RawFile("{}      ", 0);
  ASSERT_OK_AND_ASSIGN(const File empty, File::Parse(empty_bytes));
  EXPECT_TRUE(empty.tensors().empty());
}

TEST(SafetensorsTest, EntryChecks) {
  const auto entry = [](const std::string& body) { return "{\"t\":{" + body + "}}"; };
  const std::string ok = "\"dtype\":\"F32\",\"shape\":[2,2],";
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[0,16]"), 8)).find("past the end"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[0,12]"), 16)).find("needs 16"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[16,0]"), 16)).find("backwards"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[0]"), 16)).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[-1,15]"), 16)).find("non-negative"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry("\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,4]"), 4))
                .find("unknown dtype 'Q4'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry("\"dtype\":\"U8\",\"shape\":[-4],\"data_offsets\":[0,4]"), 4))
                .find("shape entry"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry("\"dtype\":\"U8\",\"shape\":[4.5],\"data_offsets\":[0,4]"), 4))
                .find("shape entry"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,16],"
                                  "\"data_offsets\":[0,4]"),
                            4))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                                  "\"data_offsets\":[0,1]"),
                            1))
                .find("9 dimensions"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile(entry(ok + "\"data_offsets\":[0,16],\"extra\":1"), 16))
                .find("unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("{\"t\":[1]}", 0)).find("not an object"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("{\"__metadata__\":{\"a\":1}}", 0)).find("not a string"),
            std::string::npos);
  const std::string a = "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}";
  const std::string b = "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}";
  EXPECT_NE(ErrorOf(RawFile("{" + a + "," + b + "}", 8)).find("overlap"), std::string::npos);
  EXPECT_NE(ErrorOf(RawFile("{" + a + "," + a + "}", 8)).find("appears twice"),
            std::string::npos);
  // Gaps and any order are fine (as in GGUF).
  const std::string c = "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]}";
  const std::vector<uint8_t> gap_bytes = RawFile("{" + c + "," + a + "}", 8);
  ASSERT_OK_AND_ASSIGN(const File gaps, File::Parse(gap_bytes));
  EXPECT_EQ(gaps.tensors()[0].name, "a");
}

TEST(SafetensorsTest, PrefixParsingForRemoteFiles) {
  Writer writer;
  writer.AddTensor("w", ElementType::kF16, {4, 4}, Iota);
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  ASSERT_OK_AND_ASSIGN(const uint64_t prefix, HeaderPrefixBytes(bytes, bytes.size()));
  EXPECT_EQ(prefix, bytes.size() - 32);
  ASSERT_OK_AND_ASSIGN(const Header header,
                       ParseHeader(std::span(bytes).first(prefix), bytes.size(), "remote"));
  EXPECT_EQ(header.tensors.size(), 1u);
  EXPECT_FALSE(ParseHeader(std::span(bytes).first(prefix - 1), bytes.size(), "remote").ok());
  // The same header claiming a shorter file: the tensor runs past its end.
  EXPECT_FALSE(ParseHeader(std::span(bytes).first(prefix), bytes.size() - 1, "remote").ok());
}

class ModelDirTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("snug_model_dir_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Put(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  void Shard(const std::string& name, const std::vector<std::string>& tensors) {
    Writer writer;
    for (const std::string& tensor : tensors) writer.AddTensor(tensor, ElementType::kF32, {2}, Iota);
    ASSERT_OK(writer.Write((dir_ / name).string()));
  }
  fs::path dir_;
};

TEST_F(ModelDirTest, SingleFileWithTextConfig) {
  Put("config.json", R"({"model_type":"gemma3","text_config":{"hidden_size":64}})");
  Put("tokenizer.json", "{}");
  Shard("model.safetensors", {"a", "b"});
  ASSERT_OK_AND_ASSIGN(const ModelDirectory dir, ModelDirectory::Open(dir_.string()));
  EXPECT_EQ(dir.model_type(), "gemma3");
  EXPECT_EQ(dir.text_config().at("hidden_size"), 64);
  EXPECT_TRUE(dir.tokenizer_json.has_value());
  EXPECT_FALSE(dir.chat_template.has_value());
  ASSERT_NE(dir.weights.Find("b"), nullptr);
  EXPECT_EQ(dir.weights.Find("b")->data().size(), 8u);
  EXPECT_EQ(dir.weights.data_bytes(), 16u);
  EXPECT_TRUE(IsModelDirectory(dir_.string()));
}

TEST_F(ModelDirTest, ShardedWithIndex) {
  Put("config.json", R"({"model_type":"llama","hidden_size":64})");
  Shard("model-00001-of-00002.safetensors", {"a", "b"});
  Shard("model-00002-of-00002.safetensors", {"c"});
  Put("model.safetensors.index.json",
      R"({"metadata":{"total_size":24},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
      R"("b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})");
  ASSERT_OK_AND_ASSIGN(const ModelDirectory dir, ModelDirectory::Open(dir_.string()));
  EXPECT_EQ(dir.text_config().at("hidden_size"), 64);
  EXPECT_EQ(dir.weights.files().size(), 2u);
  ASSERT_NE(dir.weights.Find("c"), nullptr);
  EXPECT_NE(dir.weights.Find("c")->file->source().find("00002"), std::string::npos);
}

TEST_F(ModelDirTest, IndexDisagreesWithShards) {
  Put("config.json", "{}");
  Shard("one.safetensors", {"a", "b"});
  Shard("two.safetensors", {"c", "a"});
  const auto open_with = [&](const std::string& map) {
    Put("model.safetensors.index.json", "{\"weight_map\":{" + map + "}}");
    const Result<ModelDirectory> dir = ModelDirectory::Open(dir_.string());
    EXPECT_FALSE(dir.ok());
    return dir.ok() ? "" : dir.status().message();
  };
  EXPECT_NE(open_with(R"("a":"one.safetensors","b":"one.safetensors","c":"two.safetensors")")
                .find("in both"),
            std::string::npos);
  Shard("two.safetensors", {"c"});
  EXPECT_NE(open_with(R"("a":"one.safetensors","b":"one.safetensors","c":"one.safetensors")")
                .find("does not hold it"),
            std::string::npos);
  EXPECT_NE(open_with(R"("a":"one.safetensors","c":"two.safetensors")").find("not in"),
            std::string::npos);
  EXPECT_NE(open_with(R"("a":"../one.safetensors")").find("does not name a file"),
            std::string::npos);
  EXPECT_NE(open_with(R"("a":"missing.safetensors")").find("missing.safetensors"),
            std::string::npos);
}

TEST_F(ModelDirTest, MissingPieces) {
  EXPECT_NE(ModelDirectory::Open(dir_.string()).status().message().find("no config.json"),
            std::string::npos);
  Put("config.json", "[]");
  EXPECT_NE(ModelDirectory::Open(dir_.string()).status().message().find("not a JSON object"),
            std::string::npos);
  Put("config.json", "{}");
  EXPECT_NE(ModelDirectory::Open(dir_.string()).status().message().find("no .safetensors"),
            std::string::npos);
}

}  // namespace
}  // namespace snug::safetensors
