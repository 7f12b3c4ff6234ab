// Vocabulary loaders on valid and hostile input: GGUF metadata written with gguf::Writer and
// tokenizer.json text. Every rejection must be a Status naming the problem.
#include "tokenizer/vocabulary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace snug::tokenizer {
namespace {

// A small valid "gpt2" vocabulary: bytes a, b, c and merges a+b, ab+c.
struct GgufVocab {
  std::string model = "gpt2";
  std::vector<std::string> tokens = {"a", "b", "c", "ab", "abc", "<|end|>"};
  std::vector<int32_t> types = {1, 1, 1, 1, 1, 3};
  std::vector<float> scores = {0, 0, 0, -1, -2, 0};
  std::vector<std::string> merges = {"a b", "ab c"};
  int64_t eos = 5;
  std::function<void(gguf::Writer&)> extra;

  Result<Vocabulary> Load() const {
    gguf::Writer writer;
    writer.SetString("general.architecture", "test");
    writer.SetString("tokenizer.ggml.model", model);
    writer.SetString("tokenizer.ggml.pre", "gpt2");
    writer.SetStringArray("tokenizer.ggml.tokens", tokens);
    writer.SetI32Array("tokenizer.ggml.token_type", types);
    writer.SetF32Array("tokenizer.ggml.scores", scores);
    writer.SetStringArray("tokenizer.ggml.merges", merges);
    writer.SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
    if (extra) extra(writer);
    const std::vector<uint8_t> bytes = writer.WriteToMemory();
    Result<gguf::File> file = gguf::File::Parse(bytes);
    if (!file.ok()) return file.status();
    return VocabularyFromGguf(*file);
  }
};

void ExpectError(const Result<Vocabulary>& result, std::string_view fragment) {
  ASSERT_FALSE(result.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(result.status().message().find(fragment), std::string::npos)
      << result.status().message();
  EXPECT_EQ(result.status().message().rfind("tokenizer: ", 0), 0u) << result.status().message();
}

TEST(GgufVocabulary, LoadsAValidVocabulary) {
  const Result<Vocabulary> vocab = GgufVocab{}.Load();
  ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
  EXPECT_EQ(vocab->kind, ModelKind::kByteLevelBpe);
  EXPECT_EQ(vocab->size(), 6u);
  EXPECT_EQ(vocab->merges.size(), 2u);
  EXPECT_EQ(vocab->merges[1], (std::pair<TokenId, TokenId>{3, 2}));
  EXPECT_EQ(vocab->eos, 5);
  EXPECT_EQ(vocab->types[5], TokenType::kControl);
  Result<Tokenizer> tokenizer = Tokenizer::Create(*vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  EXPECT_EQ(tokenizer->Encode("abc<|end|>", {.parse_special = true}), (std::vector<TokenId>{4, 5}));
}

TEST(GgufVocabulary, RejectsHostileMetadata) {
  GgufVocab v;
  v.types.pop_back();
  ExpectError(v.Load(), "'tokenizer.ggml.token_type' has 5 entries for 6 tokens");

  v = GgufVocab{};
  v.scores.push_back(1);
  ExpectError(v.Load(), "'tokenizer.ggml.scores' has 7 entries");

  v = GgufVocab{};
  v.types[2] = 9;
  ExpectError(v.Load(), "token 2 has unknown type 9");

  v = GgufVocab{};
  v.eos = 6;
  ExpectError(v.Load(), "eos token id 6 is outside the vocabulary of 6 tokens");

  v = GgufVocab{};
  v.merges.push_back("a zz");
  ExpectError(v.Load(), "merge 2 names a token that is not in the vocabulary");

  v = GgufVocab{};
  v.merges.push_back("b c");  // "bc" is not a token
  ExpectError(v.Load(), "merge 2 produces a token that is not in the vocabulary");

  v = GgufVocab{};
  v.merges.push_back("abc");
  ExpectError(v.Load(), "merge 2 has no space separator");

  v = GgufVocab{};
  v.model = "bert";
  ExpectError(v.Load(), "tokenizer model 'bert' is not supported");

  v = GgufVocab{};
  v.model = "llama";
  v.scores[1] = std::nanf("");
  ExpectError(v.Load(), "score of token 1 is not finite");

  v = GgufVocab{};
  v.extra = [](gguf::Writer& w) { w.SetF32Array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1}); };
  ExpectError(v.Load(), "'tokenizer.ggml.token_type' is an array of f32, expected integers");

  v = GgufVocab{};
  v.extra = [](gguf::Writer& w) { w.SetString("tokenizer.ggml.bos_token_id", "1"); };
  EXPECT_FALSE(v.Load().ok());
}

TEST(GgufVocabulary, MissingKeysAreNamed) {
  gguf::Writer writer;
  writer.SetString("general.architecture", "test");
  writer.SetString("tokenizer.ggml.model", "llama");
  writer.SetStringArray("tokenizer.ggml.tokens", {"a"});
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  Result<gguf::File> file = gguf::File::Parse(bytes);
  ASSERT_TRUE(file.ok());
  ExpectError(VocabularyFromGguf(*file), "'tokenizer.ggml.scores' is missing");

  gguf::Writer empty;
  empty.SetString("general.architecture", "test");
  const std::vector<uint8_t> empty_bytes = empty.WriteToMemory();
  Result<gguf::File> empty_file = gguf::File::Parse(empty_bytes);
  ASSERT_TRUE(empty_file.ok());
  EXPECT_FALSE(VocabularyFromGguf(*empty_file).ok());
}

constexpr std::string_view kTinyTokenizerJson = R"({
  "added_tokens": [{"id": 4, "content": "<s>", "special": true}],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
  "pre_tokenizer": null,
  "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
            "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "<s>": 4},
            "merges": [["a", "b"]]}
})";

TEST(HuggingFaceVocabulary, LoadsAValidFile) {
  const Result<Vocabulary> vocab =
      VocabularyFromHuggingFace(kTinyTokenizerJson, R"({"bos_token": "<s>", "add_bos_token": true,
                              "chat_template": "{{ messages }}"})");
  ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
  EXPECT_EQ(vocab->kind, ModelKind::kMergesBpe);
  EXPECT_EQ(vocab->unk, 0);
  EXPECT_EQ(vocab->types[0], TokenType::kUnknown);
  EXPECT_EQ(vocab->types[4], TokenType::kControl);
  EXPECT_EQ(vocab->bos, 4);
  EXPECT_TRUE(vocab->add_bos);
  EXPECT_EQ(vocab->chat_template, "{{ messages }}");
}

TEST(HuggingFaceVocabulary, RejectsHostileFiles) {
  ExpectError(VocabularyFromHuggingFace("{not json", ""), "tokenizer.json: ");
  ExpectError(VocabularyFromHuggingFace("[]", ""), "tokenizer.json is not an object");
  ExpectError(VocabularyFromHuggingFace(R"({"model": {"type": "Unigram"}})", ""),
              "model type 'Unigram' is not supported");
  std::string holes(kTinyTokenizerJson);
  holes.replace(holes.find("\"<s>\": 4"), 8, "\"<s>\": 9");
  holes.replace(holes.find("\"id\": 4"), 7, "\"id\": 9");
  ExpectError(VocabularyFromHuggingFace(holes, ""), "ids reach 9 but only 6 tokens are listed");
  std::string duplicate(kTinyTokenizerJson);
  duplicate.replace(duplicate.find("\"<s>\": 4"), 8, "\"<s>\": 3");
  duplicate.replace(duplicate.find("\"id\": 4"), 7, "\"id\": 3");
  ExpectError(VocabularyFromHuggingFace(duplicate, ""), "id 3 is used twice");
  std::string bad_merge(kTinyTokenizerJson);
  bad_merge.replace(bad_merge.find("[\"a\", \"b\"]"), 10, "[\"b\", \"a\"]");
  ExpectError(VocabularyFromHuggingFace(bad_merge, ""), "merge 0 refers to a token");
  std::string wrong_type(kTinyTokenizerJson);
  wrong_type.replace(wrong_type.find("\"a\": 1"), 6, "\"a\": \"1\"");
  ExpectError(VocabularyFromHuggingFace(wrong_type, ""), "id of 'a' is not an integer");
  ExpectError(VocabularyFromHuggingFace(kTinyTokenizerJson, R"({"eos_token": "</s>"})"),
              "eos_token '</s>' is not in the vocabulary");
  ExpectError(VocabularyFromHuggingFace(kTinyTokenizerJson, "{"), "tokenizer_config.json: ");
}

}  // namespace
}  // namespace snug::tokenizer
