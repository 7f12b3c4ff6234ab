// Tokenizers across the two file forms: each architecture's GGUF vocabulary written as
// tokenizer.json + tokenizer_config.json (what make-model puts in HF / MLX directories), read
// back, and carried into GGUF keys again (what the import does) tokenizes a small corpus —
// prose in several languages, code, emoji, whitespace runs, special tokens — exactly as the
// GGUF vocabulary does.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synth/vocab.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace snug {
namespace {

using tokenizer::Tokenizer;
using tokenizer::Vocabulary;

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> corpus = {
      "The quick brown fox jumps over the lazy dog.",
      "hello world, the cat sat on the mat and then it ran away",
      "Ça va? Größe, naïve café — 日本語のテキスト, Русский текст, العربية",
      "def main():\n    return [x * 2 for x in range(10)]  # comment\n",
      "if (a != b && c >= 42) { printf(\"%d\\n\", a); }",
      "emoji: 🙂👍🏽 🦊 and ZWJ 👩‍💻",
      "spaces    and\ttabs\n\n\nnewlines   \n  trailing   ",
      "",
      " leading space",
      "numbers 1234567 3.14159 -0.5e10",
  };
  return corpus;
}

// The vocabulary of `architecture` as its GGUF keys, read back.
Vocabulary GgufVocabulary(synth::Architecture architecture, std::vector<uint8_t>& bytes) {
  gguf::Writer writer;
  writer.SetString("general.architecture", "test");
  synth::WriteVocabulary(synth::BuiltinVocabulary(architecture), writer);
  bytes = writer.WriteToMemory();
  auto file = gguf::File::Parse(bytes);
  CHECK(file.ok()) << file.status().ToString();
  auto vocab = tokenizer::VocabularyFromGguf(*file);
  CHECK(vocab.ok()) << vocab.status().ToString();
  return std::move(vocab).value();
}

Tokenizer Build(Vocabulary vocab) {
  auto tokenizer = Tokenizer::Create(std::move(vocab));
  CHECK(tokenizer.ok()) << tokenizer.status().ToString();
  return std::move(tokenizer).value();
}

// Special tokens of the vocabulary spelled in text, so the corpus exercises their matching.
std::vector<std::string> WithSpecials(const Vocabulary& vocab) {
  std::vector<std::string> texts = Corpus();
  std::string specials;
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (vocab.types[i] == tokenizer::TokenType::kControl) specials += vocab.tokens[i] + " x ";
  }
  texts.push_back(specials);
  return texts;
}

class HfTokenizerTest : public ::testing::TestWithParam<synth::Architecture> {};

TEST_P(HfTokenizerTest, TokenizerJsonTokenizesAsTheGgufVocabulary) {
  std::vector<uint8_t> bytes;
  const Vocabulary gguf_vocab = GgufVocabulary(GetParam(), bytes);
  const Result<std::string> json = tokenizer::TokenizerJson(gguf_vocab);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  Result<Vocabulary> hf_vocab =
      tokenizer::VocabularyFromHuggingFace(*json, tokenizer::TokenizerConfigJson(gguf_vocab));
  ASSERT_TRUE(hf_vocab.ok()) << hf_vocab.status().ToString();
  EXPECT_EQ(hf_vocab->tokens, gguf_vocab.tokens);
  EXPECT_EQ(hf_vocab->bos, gguf_vocab.bos);
  EXPECT_EQ(hf_vocab->eos, gguf_vocab.eos);
  EXPECT_EQ(hf_vocab->add_bos, gguf_vocab.add_bos);
  EXPECT_EQ(hf_vocab->chat_template, gguf_vocab.chat_template);

  // The import: tokenizer.json's vocabulary as GGUF keys again.
  gguf::Writer writer;
  writer.SetString("general.architecture", "test");
  tokenizer::WriteVocabularyToGguf(*hf_vocab, writer);
  const std::vector<uint8_t> imported_bytes = writer.WriteToMemory();
  auto imported_file = gguf::File::Parse(imported_bytes);
  ASSERT_TRUE(imported_file.ok()) << imported_file.status().ToString();
  auto imported = tokenizer::VocabularyFromGguf(*imported_file);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();

  const std::vector<std::string> texts = WithSpecials(gguf_vocab);
  const Tokenizer from_gguf = Build(gguf_vocab);
  const Tokenizer from_json = Build(std::move(hf_vocab).value());
  const Tokenizer from_import = Build(std::move(imported).value());
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    const tokenizer::EncodeOptions options{.add_bos = true, .parse_special = true};
    const std::vector<int32_t> expected = from_gguf.Encode(text, options);
    EXPECT_EQ(from_json.Encode(text, options), expected);
    EXPECT_EQ(from_import.Encode(text, options), expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, HfTokenizerTest,
                         ::testing::Values(synth::Architecture::kGemma3,
                                           synth::Architecture::kGemma4,
                                           synth::Architecture::kGptOss,
                                           synth::Architecture::kLlama),
                         [](const auto& info) {
                           std::string name(synth::ArchitectureName(info.param));
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace snug
