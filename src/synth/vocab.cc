// Built-in vocabularies and the tokenizer.* GGUF keys. Real vocabularies: vocab_json.cc.
#include "synth/vocab.h"

#include <array>
#include <cstdio>
#include <map>
#include <string_view>

#include "base/check.h"

namespace snug::synth {
namespace {

// Common English words and pieces: enough merges that text encodes to fewer tokens than bytes,
// so a tokenizer's merge loop is exercised.
constexpr std::string_view kWords[] = {
    "the",      "of",     "and",   "to",    "in",     "is",        "that",    "for",    "it",
    "as",       "was",    "with",  "be",    "by",     "on",        "not",     "he",     "this",
    "are",      "or",     "his",   "from",  "at",     "which",     "but",     "have",   "an",
    "had",      "they",   "you",   "were",  "their",  "one",       "all",     "we",     "can",
    "her",      "has",    "there", "been",  "if",     "more",      "when",    "will",   "would",
    "who",      "so",     "no",    "she",   "other",  "its",       "may",     "these",  "what",
    "them",     "than",   "some",  "him",   "time",   "into",      "only",    "do",     "could",
    "new",      "about",  "two",   "then",  "first",  "also",      "after",   "any",    "like",
    "model",    "memory", "token", "hello", "world",  "small",     "machine", "server", "answer",
    "question", "please", "thank", "write", "story",  "about",     "cat",     "dog",    "sun",
    "moon",     "water",  "light", "user",  "system", "assistant", "think",   "ing",    "ed",
    "er",       "ly",     "es",    "tion",  "ment",   "ness",      "ful",     "able",   "Hello",
    "The",      "What",   "How",   "Why",   "Once",   "upon",      "day",     "night",  "good",
    "very"};

// Merges that build `word` left to right, in the vocabulary's own character form.
void AddWordMerges(const std::vector<std::string>& chars, Vocabulary& vocab,
                   std::map<std::string, int32_t>& ids) {
  std::string left = chars[0];
  for (size_t i = 1; i < chars.size(); ++i) {
    const std::string merged = left + chars[i];
    if (!ids.count(merged)) {
      vocab.merges.push_back(left + " " + chars[i]);
      ids[merged] = static_cast<int32_t>(vocab.tokens.size());
      vocab.tokens.push_back(merged);
      vocab.types.push_back(kTokenNormal);
      if (vocab.model != "gpt2") vocab.scores.push_back(-static_cast<float>(vocab.merges.size()));
    }
    left = merged;
  }
}

std::vector<std::string> Utf8Chars(std::string_view text) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    size_t length = 1;
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead >= 0xf0)
      length = 4;
    else if (lead >= 0xe0)
      length = 3;
    else if (lead >= 0xc0)
      length = 2;
    chars.emplace_back(text.substr(i, length));
    i += length;
  }
  return chars;
}

void Append(Vocabulary& vocab, std::map<std::string, int32_t>& ids, std::string token, int32_t type,
            float score) {
  ids[token] = static_cast<int32_t>(vocab.tokens.size());
  vocab.tokens.push_back(std::move(token));
  vocab.types.push_back(type);
  if (vocab.model != "gpt2") vocab.scores.push_back(score);
}

// SentencePiece-style (Gemma): specials at Gemma's ids, byte tokens, "▁" for the space.
Vocabulary BuiltinGemma(bool gemma4) {
  Vocabulary vocab;
  vocab.model = gemma4 ? "gemma4" : "llama";
  std::map<std::string, int32_t> ids;
  Append(vocab, ids, "<pad>", kTokenControl, 0);
  Append(vocab, ids, "<eos>", kTokenControl, 0);
  Append(vocab, ids, "<bos>", kTokenControl, 0);
  Append(vocab, ids, "<unk>", kTokenUnknown, 0);
  Append(vocab, ids, "<mask>", kTokenControl, 0);
  for (int id = 5; id < 105; ++id) {
    Append(vocab, ids, "<unused" + std::to_string(id - 5) + ">", kTokenControl, -1000);
  }
  Append(vocab, ids, "<start_of_turn>", kTokenControl, 0);
  Append(vocab, ids, "<end_of_turn>", kTokenControl, 0);
  Append(vocab, ids, "\n", kTokenUserDefined, -1000);
  if (gemma4) {
    const std::pair<int, std::string_view> kGemma4Specials[] = {
        {46, "<|tool>"},      {47, "<tool|>"},          {48, "<|tool_call>"},
        {49, "<tool_call|>"}, {50, "<|tool_response>"}, {51, "<tool_response|>"},
        {52, "<|\"|>"},       {98, "<|think|>"},        {100, "<|channel>"},
        {101, "<channel|>"},  {105, "<|turn>"},         {106, "<turn|>"}};
    for (const auto& [id, text] : kGemma4Specials) {
      ids.erase(vocab.tokens[id]);
      vocab.tokens[id] = std::string(text);
      ids[vocab.tokens[id]] = id;
      const bool visible = id >= 48 && id != 98 && id != 105 && id != 106;
      vocab.types[id] = visible ? kTokenUserDefined : kTokenControl;
    }
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    Append(vocab, ids, name, kTokenByte, 0);
  }
  Append(vocab, ids, "\xe2\x96\x81", kTokenNormal, -1e6f);  // ▁
  for (char c = 33; c < 127; ++c) Append(vocab, ids, std::string(1, c), kTokenNormal, -1e6f);
  for (std::string_view word : kWords) {
    std::vector<std::string> chars = Utf8Chars(word);
    if (word.size() > 3 || word[0] == 't' || word[0] == 'a' || word[0] == 'w') {
      chars.insert(chars.begin(), "\xe2\x96\x81");  // most words follow a space
    }
    AddWordMerges(chars, vocab, ids);
  }
  if (gemma4) {
    // The 12B unified model's media markup (specs/models.md §3.1), control tokens as in the real
    // vocabulary (there at 255999, 256000, 258880-258883).
    for (std::string_view text :
         {"<|image>", "<|image|>", "<image|>", "<|audio>", "<|audio|>", "<audio|>"}) {
      Append(vocab, ids, std::string(text), kTokenControl, 0);
    }
  }
  vocab.bos_id = 2;
  vocab.eos_id = 1;
  vocab.unknown_id = 3;
  vocab.padding_id = 0;
  vocab.eot_id =
      gemma4 ? 106 : -1;  // Gemma 3's converter writes none: <end_of_turn> is found by name
  vocab.add_bos = true;
  vocab.write_add_space_prefix = true;
  vocab.chat_template = gemma4 ? Gemma4ChatTemplate() : Gemma3ChatTemplate();
  vocab.description = "builtin (" + std::to_string(vocab.tokens.size()) + " tokens)";
  if (!gemma4) vocab.merges.clear();  // SentencePiece form: scores carry the merge order
  return vocab;
}

// Byte-level BPE (gpt-oss, Llama 3): the 256 byte characters in tiktoken's rank order, merges
// with "Ġ" for the space, specials last.
Vocabulary BuiltinByteLevel(bool llama) {
  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = llama ? "llama-bpe" : "gpt-4o";
  std::map<std::string, int32_t> ids;
  // tiktoken ranks the single bytes in GPT-2's bytes_to_unicode order: printable ones first.
  std::vector<int> order;
  for (int b = 0; b < 256; ++b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) order.push_back(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) order.push_back(b);
  }
  for (int b : order) Append(vocab, ids, ByteLevelChar(static_cast<uint8_t>(b)), kTokenNormal, 0);
  const std::string space = ByteLevelChar(' ');
  for (std::string_view word : kWords) {
    std::vector<std::string> chars = Utf8Chars(word);
    chars.insert(chars.begin(), space);
    AddWordMerges(chars, vocab, ids);
    AddWordMerges(Utf8Chars(word), vocab, ids);
  }
  if (llama) {
    const int32_t first = static_cast<int32_t>(vocab.tokens.size());
    for (std::string_view special :
         {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
          "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"}) {
      Append(vocab, ids, std::string(special), kTokenControl, 0);
    }
    vocab.bos_id = first;
    vocab.eos_id = first + 5;
    vocab.eot_id = first + 5;
    vocab.add_bos = true;
    vocab.chat_template = Llama3ChatTemplate();
  } else {
    const int32_t first = static_cast<int32_t>(vocab.tokens.size());
    for (std::string_view special :
         {"<|startoftext|>", "<|endoftext|>", "<|return|>", "<|constrain|>", "<|channel|>",
          "<|start|>", "<|end|>", "<|message|>", "<|call|>"}) {
      Append(vocab, ids, std::string(special), kTokenControl, 0);
    }
    vocab.bos_id = first;
    vocab.padding_id = first + 1;
    vocab.eos_id = first + 2;
    vocab.chat_template = HarmonyChatTemplate();
  }
  vocab.description = "builtin (" + std::to_string(vocab.tokens.size()) + " tokens)";
  return vocab;
}

}  // namespace

int32_t Vocabulary::Find(std::string_view token) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == token) return static_cast<int32_t>(i);
  }
  return -1;
}

std::string ByteLevelChar(uint8_t byte) {
  // bytes_to_unicode: printable bytes stand for themselves, the others for 256 + their index
  // among the non-printable ones.
  uint32_t code = byte;
  const auto printable = [](int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  };
  if (!printable(byte)) {
    int index = 0;
    for (int b = 0; b < byte; ++b) index += printable(b) ? 0 : 1;
    code = 256 + index;
  }
  std::string utf8;
  if (code < 0x80) {
    utf8 += static_cast<char>(code);
  } else {  // every code point here is below 0x800
    utf8 += static_cast<char>(0xc0 | (code >> 6));
    utf8 += static_cast<char>(0x80 | (code & 0x3f));
  }
  return utf8;
}

Vocabulary BuiltinVocabulary(Architecture architecture) {
  switch (architecture) {
    case Architecture::kGemma3:
      return BuiltinGemma(false);
    case Architecture::kGemma4:
      return BuiltinGemma(true);
    case Architecture::kGptOss:
      return BuiltinByteLevel(false);
    case Architecture::kLlama:
      return BuiltinByteLevel(true);
  }
  CHECK(false) << "unknown architecture";
  return {};
}

void WriteVocabulary(const Vocabulary& vocab, gguf::Writer& writer) {
  CHECK_EQ(vocab.types.size(), vocab.tokens.size());
  CHECK(vocab.scores.empty() || vocab.scores.size() == vocab.tokens.size());
  writer.SetString("tokenizer.ggml.model", vocab.model);
  if (!vocab.pre.empty()) writer.SetString("tokenizer.ggml.pre", vocab.pre);
  writer.SetStringArray("tokenizer.ggml.tokens", vocab.tokens);
  if (!vocab.scores.empty()) writer.SetF32Array("tokenizer.ggml.scores", vocab.scores);
  writer.SetI32Array("tokenizer.ggml.token_type", vocab.types);
  if (!vocab.merges.empty()) writer.SetStringArray("tokenizer.ggml.merges", vocab.merges);
  const auto set_id = [&](const char* key, int32_t id) {
    if (id >= 0) writer.SetU32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", vocab.bos_id);
  set_id("tokenizer.ggml.eos_token_id", vocab.eos_id);
  set_id("tokenizer.ggml.eot_token_id", vocab.eot_id);
  set_id("tokenizer.ggml.unknown_token_id", vocab.unknown_id);
  set_id("tokenizer.ggml.padding_token_id", vocab.padding_id);
  writer.SetBool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  if (vocab.write_add_space_prefix) writer.SetBool("tokenizer.ggml.add_space_prefix", false);
  if (!vocab.chat_template.empty())
    writer.SetString("tokenizer.chat_template", vocab.chat_template);
}

}  // namespace snug::synth
