// Vocabulary from a Hugging Face tokenizer.json (BPE models: the SentencePiece-derived Gemma
// kind with byte fallback, and byte-level GPT-2/tiktoken kinds) plus tokenizer_config.json for
// the special tokens and the chat template. nlohmann::json exceptions stop at this file.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "tokenizer/vocabulary.h"

namespace snug::tokenizer {
namespace {

using Json = nlohmann::json;

// The pre-tokenizer regexes llama.cpp knows by name (specs/models.md §7.2; Meta's Llama 3
// tokenizer.py pat_str), written as tokenizer.json spells them.
constexpr std::string_view kO200kPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Finds `type` among a pre-tokenizer / normalizer and its Sequence children.
const Json* FindComponent(const Json& node, std::string_view type) {
  if (!node.is_object()) return nullptr;
  if (node.value("type", "") == type) return &node;
  for (const char* list : {"pretokenizers", "normalizers", "decoders"}) {
    if (!node.contains(list) || !node[list].is_array()) continue;
    for (const Json& child : node[list]) {
      if (const Json* found = FindComponent(child, type)) return found;
    }
  }
  return nullptr;
}

// "<bos>" or {"content": "<bos>", ...} or null.
std::string TokenText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return {};
}

Status ReadModel(const Json& root, Vocabulary& vocab,
                 std::unordered_map<std::string, TokenId>& ids) {
  if (!root.contains("model") || !root["model"].is_object()) {
    return DataLoss("tokenizer: tokenizer.json has no 'model' object");
  }
  const Json& model = root["model"];
  const std::string type = model.value("type", "");
  if (type != "BPE") {
    return Unimplemented("tokenizer: tokenizer.json model type '" + type +
                         "' is not supported (BPE is)");
  }
  const Json* pre = root.contains("pre_tokenizer") ? &root["pre_tokenizer"] : nullptr;
  const Json* decoder = root.contains("decoder") ? &root["decoder"] : nullptr;
  const bool byte_level = (pre && FindComponent(*pre, "ByteLevel")) ||
                          (decoder && FindComponent(*decoder, "ByteLevel"));
  if (byte_level) {
    vocab.kind = ModelKind::kByteLevelBpe;
    const Json* split = pre ? FindComponent(*pre, "Split") : nullptr;
    if (split && split->contains("pattern") && (*split)["pattern"].contains("Regex")) {
      const std::string pattern = (*split)["pattern"]["Regex"].get<std::string>();
      if (pattern == kO200kPattern) {
        vocab.pre = "gpt-4o";
      } else if (pattern == kLlama3Pattern) {
        vocab.pre = "llama-bpe";
      } else {
        vocab.pre = "custom";
        vocab.pre_regex = pattern;
      }
    } else {
      vocab.pre = "default";
    }
  } else if (model.value("byte_fallback", false)) {
    vocab.kind = ModelKind::kMergesBpe;
    // Llama-2-style files prepend "▁" (normalizer Prepend or Metaspace); Gemma's do not.
    const Json* normalizer = root.contains("normalizer") ? &root["normalizer"] : nullptr;
    vocab.add_space_prefix =
        (normalizer && FindComponent(*normalizer, "Prepend")) ||
        (pre && FindComponent(*pre, "Metaspace") &&
         FindComponent(*pre, "Metaspace")->value("prepend_scheme", "always") != "never");
  } else {
    return Unimplemented(
        "tokenizer: tokenizer.json BPE without byte fallback or byte-level "
        "pre-tokenizer is not supported");
  }
  vocab.ignore_merges = model.value("ignore_merges", false);

  const Json& entries = model.at("vocab");
  if (!entries.is_object())
    return DataLoss("tokenizer: tokenizer.json 'model.vocab' is not an object");
  const Json empty_array = Json::array();
  const Json& added = root.contains("added_tokens") && root["added_tokens"].is_array()
                          ? root["added_tokens"]
                          : empty_array;
  // The id space is the union of the model vocabulary and the added tokens; it must be dense.
  int64_t max_id = -1;
  for (const auto& [text, id_json] : entries.items()) {
    if (!id_json.is_number_integer()) {
      return DataLoss("tokenizer: tokenizer.json id of '" + text + "' is not an integer");
    }
    max_id = std::max<int64_t>(max_id, id_json.get<int64_t>());
  }
  for (const Json& token : added) max_id = std::max<int64_t>(max_id, token.at("id").get<int64_t>());
  if (max_id < 0) return DataLoss("tokenizer: tokenizer.json has no tokens");
  if (max_id >= (int64_t{1} << 24)) {
    return OutOfRange("tokenizer: tokenizer.json token id " + std::to_string(max_id) +
                      " is too large");
  }
  const size_t n = static_cast<size_t>(max_id) + 1;
  // Checked before allocating: a tiny file must not make us allocate for 2^24 ids.
  if (n > entries.size() + added.size()) {
    return DataLoss("tokenizer: tokenizer.json ids reach " + std::to_string(max_id) + " but only " +
                    std::to_string(entries.size() + added.size()) + " tokens are listed");
  }
  vocab.tokens.assign(n, {});
  vocab.types.assign(n, TokenType::kUndefined);
  for (const auto& [text, id_json] : entries.items()) {
    const int64_t id = id_json.get<int64_t>();
    if (id < 0)
      return OutOfRange("tokenizer: tokenizer.json token '" + text + "' has id " +
                        std::to_string(id));
    if (vocab.types[id] != TokenType::kUndefined) {
      return DataLoss("tokenizer: tokenizer.json id " + std::to_string(id) + " is used twice");
    }
    vocab.tokens[id] = text;
    vocab.types[id] = vocab.kind != ModelKind::kByteLevelBpe && ParseByteToken(text) >= 0
                          ? TokenType::kByte
                          : TokenType::kNormal;
  }
  for (const Json& token : added) {
    const int64_t id = token.at("id").get<int64_t>();
    if (id < 0) return OutOfRange("tokenizer: tokenizer.json added token id " + std::to_string(id));
    vocab.tokens[id] = token.at("content").get<std::string>();
    vocab.types[id] = token.value("special", false) ? TokenType::kControl : TokenType::kUserDefined;
  }
  for (size_t i = 0; i < n; ++i) {
    if (vocab.types[i] == TokenType::kUndefined) {
      return DataLoss("tokenizer: tokenizer.json assigns no token to id " + std::to_string(i));
    }
  }
  for (size_t i = 0; i < n; ++i) ids[vocab.tokens[i]] = static_cast<TokenId>(i);

  const std::string unk = model.contains("unk_token") ? TokenText(model["unk_token"]) : "";
  if (!unk.empty() && ids.contains(unk)) {
    vocab.unk = ids[unk];
    vocab.types[vocab.unk] = TokenType::kUnknown;
  }

  // Merges: ["a b", ...] (older files) or [["a", "b"], ...].
  const Json& merges = model.at("merges");
  if (!merges.is_array())
    return DataLoss("tokenizer: tokenizer.json 'model.merges' is not an array");
  vocab.merges.reserve(merges.size());
  std::string left, right;
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& merge = merges[i];
    if (merge.is_string()) {
      const std::string line = merge.get<std::string>();
      const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string::npos;
      if (space == std::string::npos) {
        return DataLoss("tokenizer: tokenizer.json merge " + std::to_string(i) + " has no space");
      }
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return DataLoss("tokenizer: tokenizer.json merge " + std::to_string(i) + " is malformed");
    }
    const auto l = ids.find(left), r = ids.find(right);
    if (l == ids.end() || r == ids.end() || !ids.contains(left + right)) {
      return DataLoss("tokenizer: tokenizer.json merge " + std::to_string(i) +
                      " refers to a token that is not in the vocabulary");
    }
    vocab.merges.emplace_back(l->second, r->second);
  }

  // Without a config, a TemplateProcessing post-processor that starts with a special token
  // tells which BOS is added.
  if (root.contains("post_processor") && root["post_processor"].is_object()) {
    const Json& post = root["post_processor"];
    if (post.value("type", "") == "TemplateProcessing" && post.contains("single") &&
        post["single"].is_array() && !post["single"].empty() &&
        post["single"][0].contains("SpecialToken")) {
      const std::string bos = post["single"][0]["SpecialToken"].value("id", "");
      if (ids.contains(bos)) {
        vocab.bos = ids[bos];
        vocab.add_bos = true;
      }
    }
  }
  return Status::Ok();
}

Status ReadConfig(const Json& config, Vocabulary& vocab,
                  const std::unordered_map<std::string, TokenId>& ids) {
  if (!config.is_object()) return DataLoss("tokenizer: tokenizer_config.json is not an object");
  const auto special = [&](const char* key, TokenId& id) -> Status {
    if (!config.contains(key) || config[key].is_null()) return Status::Ok();
    const std::string text = TokenText(config[key]);
    const auto it = ids.find(text);
    if (it == ids.end()) {
      return DataLoss("tokenizer: tokenizer_config.json " + std::string(key) + " '" + text +
                      "' is not in the vocabulary");
    }
    id = it->second;
    return Status::Ok();
  };
  RETURN_IF_ERROR(special("bos_token", vocab.bos));
  RETURN_IF_ERROR(special("eos_token", vocab.eos));
  RETURN_IF_ERROR(special("unk_token", vocab.unk));
  RETURN_IF_ERROR(special("pad_token", vocab.pad));
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    vocab.add_bos = config["add_bos_token"].get<bool>();
  }
  if (config.contains("chat_template")) {
    const Json& chat_template = config["chat_template"];
    if (chat_template.is_string()) {
      vocab.chat_template = chat_template.get<std::string>();
    } else if (chat_template.is_array()) {  // [{"name": "default", "template": "..."}, ...]
      for (const Json& entry : chat_template) {
        if (entry.value("name", "") == "default") vocab.chat_template = entry.value("template", "");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Vocabulary> VocabularyFromHuggingFace(std::string_view tokenizer_json,
                                             std::string_view tokenizer_config_json) {
  Vocabulary vocab;
  std::unordered_map<std::string, TokenId> ids;
  try {
    const Json root = Json::parse(tokenizer_json);
    if (!root.is_object()) return DataLoss("tokenizer: tokenizer.json is not an object");
    RETURN_IF_ERROR(ReadModel(root, vocab, ids));
  } catch (const Json::exception& e) {
    return DataLoss(std::string("tokenizer: tokenizer.json: ") + e.what());
  }
  if (!tokenizer_config_json.empty()) {
    try {
      RETURN_IF_ERROR(ReadConfig(Json::parse(tokenizer_config_json), vocab, ids));
    } catch (const Json::exception& e) {
      return DataLoss(std::string("tokenizer: tokenizer_config.json: ") + e.what());
    }
  }
  DetectEndOfTurn(vocab);
  RETURN_IF_ERROR(Validate(vocab));
  return vocab;
}

namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("tokenizer: cannot open '" + path + "'");
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return DataLoss("tokenizer: error reading '" + path + "'");
  return contents.str();
}

}  // namespace

Result<Vocabulary> LoadHuggingFaceDirectory(const std::string& dir) {
  ASSIGN_OR_RETURN(const std::string tokenizer_json, ReadWholeFile(dir + "/tokenizer.json"));
  std::string config;
  if (std::ifstream(dir + "/tokenizer_config.json").good()) {
    ASSIGN_OR_RETURN(config, ReadWholeFile(dir + "/tokenizer_config.json"));
  }
  return VocabularyFromHuggingFace(tokenizer_json, config);
}

namespace {

bool IsSpecial(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown || type == TokenType::kUnused;
}

// SentencePiece's merges (transformers' SentencePieceExtractor): each split of a piece into two
// pieces, the piece's score deciding the rank (ties: left id, then right id).
std::vector<std::pair<TokenId, TokenId>> MergesFromScores(const Vocabulary& vocab) {
  std::unordered_map<std::string_view, TokenId> ids;
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (!IsSpecial(vocab.types[i])) ids.emplace(vocab.tokens[i], static_cast<TokenId>(i));
  }
  struct Ranked {
    float score;
    TokenId left, right;
  };
  std::vector<Ranked> ranked;
  for (size_t i = 0; i < vocab.size(); ++i) {
    const std::string_view text = vocab.tokens[i];
    if (IsSpecial(vocab.types[i]) || vocab.types[i] == TokenType::kByte) continue;
    for (size_t split = 1; split < text.size(); ++split) {
      if ((static_cast<uint8_t>(text[split]) & 0xC0) == 0x80) continue;  // inside a character
      const auto left = ids.find(text.substr(0, split)), right = ids.find(text.substr(split));
      if (left != ids.end() && right != ids.end()) {
        ranked.push_back({vocab.scores[i], left->second, right->second});
      }
    }
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.left != b.left ? a.left < b.left : a.right < b.right;
  });
  std::vector<std::pair<TokenId, TokenId>> merges;
  for (const Ranked& merge : ranked) merges.emplace_back(merge.left, merge.right);
  return merges;
}

Result<std::string> PreTokenizerRegex(const Vocabulary& vocab) {
  if (!vocab.pre_regex.empty()) return vocab.pre_regex;
  if (vocab.pre == "gpt-4o") return std::string(kO200kPattern);
  if (vocab.pre == "llama-bpe" || vocab.pre == "llama3" || vocab.pre == "llama-v3") {
    return std::string(kLlama3Pattern);
  }
  return Unimplemented("tokenizer: no tokenizer.json regex is known for pre-tokenizer '" +
                       vocab.pre + "'");
}

}  // namespace

Result<std::string> TokenizerJson(const Vocabulary& vocab) {
  const bool byte_level = vocab.kind == ModelKind::kByteLevelBpe;
  Json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", vocab.unk != kNoToken ? Json(vocab.tokens[vocab.unk]) : Json()},
                {"fuse_unk", !byte_level},
                {"byte_fallback", !byte_level},
                {"ignore_merges", vocab.ignore_merges}};
  Json entries = Json::object();
  Json added = Json::array();
  for (size_t i = 0; i < vocab.size(); ++i) {
    entries[vocab.tokens[i]] = i;
    if (IsSpecial(vocab.types[i]) && vocab.types[i] != TokenType::kUnknown) {
      added.push_back({{"id", i},
                       {"content", vocab.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", vocab.types[i] != TokenType::kUserDefined}});
    }
  }
  model["vocab"] = std::move(entries);
  Json merges = Json::array();
  const auto pairs = vocab.kind == ModelKind::kSentencePiece ? MergesFromScores(vocab)
                                                             : vocab.merges;
  for (const auto& [left, right] : pairs) {
    merges.push_back(Json::array({vocab.tokens[left], vocab.tokens[right]}));
  }
  model["merges"] = std::move(merges);
  Json root = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
               {"added_tokens", std::move(added)}, {"post_processor", nullptr}};
  if (byte_level) {
    ASSIGN_OR_RETURN(const std::string regex, PreTokenizerRegex(vocab));
    root["normalizer"] = nullptr;
    root["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         Json::array({{{"type", "Split"},
                       {"pattern", {{"Regex", regex}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"},
                       {"add_prefix_space", false},
                       {"trim_offsets", true},
                       {"use_regex", false}}})}};
    root["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true},
                       {"trim_offsets", true}, {"use_regex", true}};
  } else {
    Json normalizers = Json::array();
    if (vocab.add_space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", "▁"}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}});
    root["normalizer"] = {{"type", "Sequence"}, {"normalizers", std::move(normalizers)}};
    root["pre_tokenizer"] = nullptr;
    root["decoder"] = {
        {"type", "Sequence"},
        {"decoders", Json::array({{{"type", "Replace"},
                                   {"pattern", {{"String", "▁"}}},
                                   {"content", " "}},
                                  {{"type", "ByteFallback"}},
                                  {{"type", "Fuse"}}})}};
  }
  root["model"] = std::move(model);
  return root.dump(1);
}

std::string TokenizerConfigJson(const Vocabulary& vocab) {
  Json config = {{"add_bos_token", vocab.add_bos}, {"add_eos_token", false}};
  const auto special = [&](const char* key, TokenId id) {
    if (id != kNoToken) config[key] = vocab.tokens[id];
  };
  special("bos_token", vocab.bos);
  special("eos_token", vocab.eos);
  special("unk_token", vocab.unk);
  special("pad_token", vocab.pad);
  if (!vocab.chat_template.empty()) config["chat_template"] = vocab.chat_template;
  return config.dump(1);
}

}  // namespace snug::tokenizer
