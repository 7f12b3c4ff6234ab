// What `snug inspect` prints: grouped metadata, summarized arrays, tokenizer facts, tensor table
// and totals, in text and JSON.
#include "formats/gguf_summary.h"

#include <gtest/gtest.h>

namespace snug::gguf {
namespace {

std::vector<uint8_t> ModelFile() {
  Writer writer;
  writer.SetString("general.architecture", "gemma3");
  writer.SetString("general.name", "tiny \"test\"\nmodel");
  writer.SetU32("gemma3.block_count", 6);
  writer.SetF32("gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
  writer.SetBoolArray("gemma3.attention.sliding_window_pattern",
                      {true, true, false, true, true, false});
  writer.SetU32Array("gemma3.feed_forward_length", {64, 64, 64, 64, 64, 64});
  writer.SetI32Array("gemma3.ranks", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  writer.SetString("tokenizer.ggml.model", "gemma");
  writer.SetString("tokenizer.ggml.pre", "default");
  writer.SetStringArray("tokenizer.ggml.tokens", {"<pad>", "<eos>", "<bos>", "a", "b"});
  writer.SetF32Array("tokenizer.ggml.scores", {0, 0, 0, -1, -2});
  writer.SetStringArray("tokenizer.ggml.merges", {"a b"});
  writer.SetU32("tokenizer.ggml.bos_token_id", 2);
  writer.SetU32("tokenizer.ggml.eos_token_id", 1);
  writer.SetI32("tokenizer.ggml.padding_token_id", 99);
  writer.SetBool("tokenizer.ggml.add_bos_token", true);
  writer.SetString("tokenizer.chat_template", std::string(300, 'x'));
  writer.SetU32("custom.key", 5);
  auto zero = [](std::span<uint8_t>) {};
  writer.AddTensor("token_embd.weight", DType::kQ8_0, {5, 64}, zero);   // 340 bytes
  writer.AddTensor("blk.0.attn_norm.weight", DType::kF32, {64}, zero);  // 256 bytes
  writer.AddTensor("output_norm.weight", DType::kF32, {16}, zero);      // 64 bytes
  return writer.WriteToMemory();
}

TEST(GgufSummary, GroupsAndSummarizesMetadata) {
  const std::vector<uint8_t> bytes = ModelFile();
  const Result<File> file = File::Parse(bytes);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const Summary summary = Summarize(*file, "tiny.gguf");
  EXPECT_EQ(summary.architecture, "gemma3");
  ASSERT_EQ(summary.hyperparameters.size(), 5u);
  EXPECT_EQ(summary.hyperparameters[0].text, "6");
  EXPECT_EQ(summary.hyperparameters[1].text, "1e-06");
  EXPECT_EQ(summary.hyperparameters[2].text, "[bool × 6: 4 true]");
  EXPECT_EQ(summary.hyperparameters[2].type, "array[bool]");
  EXPECT_EQ(summary.hyperparameters[3].text, "[u32 × 6: all 64]");
  EXPECT_EQ(summary.hyperparameters[4].text, "[i32 × 10: 1, 2, 3, 4, 5, 6, 7, 8, …]");
  ASSERT_EQ(summary.general.size(), 2u);
  EXPECT_EQ(summary.general[1].text, "\"tiny \\\"test\\\"\\nmodel\"");
  ASSERT_EQ(summary.other.size(), 1u);
  EXPECT_EQ(summary.other[0].key, "custom.key");

  const TokenizerSummary& tokenizer = summary.tokenizer;
  EXPECT_EQ(tokenizer.model, "gemma");
  EXPECT_EQ(tokenizer.pre, "default");
  EXPECT_EQ(tokenizer.vocab_size, 5u);
  EXPECT_EQ(tokenizer.merges, 1u);
  EXPECT_EQ(tokenizer.scores, 5u);
  ASSERT_EQ(tokenizer.special.size(), 3u);
  EXPECT_EQ(tokenizer.special[0].name, "bos");
  EXPECT_EQ(tokenizer.special[0].token, "<bos>");
  EXPECT_EQ(tokenizer.special[1].token, "<eos>");
  EXPECT_EQ(tokenizer.special[2].name, "padding");
  EXPECT_FALSE(tokenizer.special[2].in_vocab);
  EXPECT_TRUE(tokenizer.has_chat_template);
  EXPECT_EQ(tokenizer.chat_template_bytes, 300u);
  ASSERT_EQ(tokenizer.other.size(), 1u);
  EXPECT_EQ(tokenizer.other[0].key, "tokenizer.ggml.add_bos_token");

  ASSERT_EQ(summary.tensors.size(), 3u);
  EXPECT_EQ(summary.tensors[0].shape, (std::vector<int64_t>{5, 64}));
  EXPECT_EQ(summary.tensors[0].bytes, 340u);
  EXPECT_EQ(summary.tensor_bytes, 660u);
  ASSERT_EQ(summary.totals.size(), 2u);  // AllDTypes order: f32 before q8_0
  EXPECT_EQ(summary.totals[0].type, "f32");
  EXPECT_EQ(summary.totals[0].count, 2u);
  EXPECT_EQ(summary.totals[0].bytes, 320u);
  EXPECT_DOUBLE_EQ(summary.totals[0].share + summary.totals[1].share, 1.0);
  EXPECT_EQ(summary.file_bytes, bytes.size());
}

TEST(GgufSummary, TextAndJsonShowTheSameFacts) {
  const std::vector<uint8_t> bytes = ModelFile();
  const Summary summary = Summarize(*File::Parse(bytes), "tiny.gguf");
  const std::string text = FormatText(summary);
  for (const char* expected :
       {"architecture  gemma3", "gemma3.attention.sliding_window_pattern  [bool × 6: 4 true]",
        "vocabulary     5 tokens, 1 merges, 5 scores", "bos            2 \"<bos>\"",
        "padding        99 (not in the vocabulary)", "chat template  present (300 bytes)",
        "token_embd.weight       q8_0    [5, 64]", "q8_0         1 tensors        340 B   51.5%",
        "custom.key  5"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing '" << expected << "' in\n"
                                                      << text;
  }
  const nlohmann::ordered_json json = ToJson(summary);
  EXPECT_EQ(json["architecture"], "gemma3");
  EXPECT_EQ(json["file_bytes"], bytes.size());
  EXPECT_EQ(json["hyperparameters"]["gemma3.block_count"], 6);
  EXPECT_EQ(json["hyperparameters"]["gemma3.attention.layer_norm_rms_epsilon"], 1e-6);
  EXPECT_EQ(json["hyperparameters"]["gemma3.attention.sliding_window_pattern"].size(), 6u);
  EXPECT_EQ(json["tokenizer"]["special"]["eos"]["token"], "<eos>");
  EXPECT_TRUE(json["tokenizer"]["special"]["padding"]["token"].is_null());
  EXPECT_EQ(json["tokenizer"]["chat_template_bytes"], 300);
  EXPECT_EQ(json["tensors"][0]["shape"], nlohmann::ordered_json({5, 64}));
  EXPECT_EQ(json["totals"][1]["type"], "q8_0");
  EXPECT_EQ(json["tensor_bytes"], 660);
}

TEST(GgufSummary, LongArraysAreSummarizedInJson) {
  Writer writer;
  writer.SetBoolArray("bools", std::vector<bool>(300, true));
  writer.SetStringArray("strings", std::vector<std::string>(20, "s"));
  writer.SetString("bad_utf8", "\xff\xfe");
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  const Summary summary = Summarize(*File::Parse(bytes), "x");
  const nlohmann::ordered_json json = ToJson(summary);
  EXPECT_EQ(json["other_metadata"]["bools"]["count"], 300);
  EXPECT_EQ(json["other_metadata"]["bools"]["true"], 300);
  EXPECT_EQ(json["other_metadata"]["bools"]["head"].size(), 8u);
  EXPECT_EQ(json["other_metadata"]["strings"]["count"], 20);
  // Invalid UTF-8 from a file must not make the JSON dump throw.
  EXPECT_NO_THROW(json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  EXPECT_EQ(summary.other[1].text, "[string × 20: \"s\", \"s\", \"s\", \"s\", …]");
}

TEST(GgufSummary, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.50 KiB");
  EXPECT_EQ(HumanBytes(12ull << 30), "12.00 GiB");
}

}  // namespace
}  // namespace snug::gguf
