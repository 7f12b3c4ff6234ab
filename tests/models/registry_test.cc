// The architecture registry: every entry's GGUF tensor list agrees with the files the synthetic
// generator writes (every tensor of the file is listed, every required one is in the file), a
// runnable entry names a chat format, and unknown names are refused.
#include "models/registry.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "synth/generator.h"

namespace snug {
namespace {

// "blk.3.attn_q.weight" -> "blk.{layer}.attn_q.weight".
std::string Pattern(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return name;
  const size_t dot = name.find('.', 4);
  return "blk.{layer}" + name.substr(dot);
}

TEST(RegistryTest, TensorListsMatchTheSyntheticPresets) {
  for (const std::string preset : {"gemma3-tiny", "gemma4-tiny", "gptoss-tiny", "llama-tiny"}) {
    SCOPED_TRACE(preset);
    auto config = synth::FindPreset(preset);
    ASSERT_TRUE(config.ok());
    const synth::ModelPlan plan = synth::PlanModel(
        *config, synth::BuiltinVocabulary(config->architecture), {.main = DType::kF32});
    const Architecture* entry = FindArchitecture(synth::ArchitectureName(config->architecture));
    ASSERT_NE(entry, nullptr);
    std::set<std::string> listed, required;
    for (const TensorName& tensor : entry->gguf_tensors) {
      listed.emplace(tensor.gguf);
      if (tensor.required) required.emplace(tensor.gguf);
    }
    std::set<std::string> written;
    for (const synth::TensorPlan& tensor : plan.tensors) {
      written.insert(Pattern(tensor.spec.name));
      EXPECT_TRUE(listed.count(Pattern(tensor.spec.name)))
          << tensor.spec.name << " is not in the entry";
    }
    for (const std::string& name : required) {
      EXPECT_TRUE(written.count(name)) << name << " is required but not written";
    }
  }
}

TEST(RegistryTest, EveryRunnableEntryHasAChatFormatAndAParser) {
  for (const Architecture& entry : Architectures()) {
    SCOPED_TRACE(std::string(entry.name));
    EXPECT_NE(entry.spec, nullptr);
    EXPECT_FALSE(entry.gguf_tensors.empty());
    if (entry.load != nullptr) {
      EXPECT_TRUE(entry.chat_format.has_value());
    }
    EXPECT_EQ(FindArchitecture(entry.name), &entry);
  }
  EXPECT_EQ(FindArchitecture("mamba"), nullptr);
  ASSERT_NE(FindArchitecture("qwen3"), nullptr);
  EXPECT_EQ(FindArchitecture("qwen3")->chat_format, tokenizer::ChatFormat::kChatMl);
}

}  // namespace
}  // namespace snug
