// Encoding pipeline (specials, then the vocabulary kind's BPE) and decoding (see tokenizer.h).
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/working_memory.h"

namespace snug::tokenizer {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

std::string EscapeSpaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (const char c : text) {
    if (c == ' ') {
      out += kSpaceMarker;
    } else {
      out += c;
    }
  }
  return out;
}

void UnescapeSpaces(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out += ' ';
      i += kSpaceMarker.size();
    } else {
      out += text[i++];
    }
  }
}

bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Where the first window of a fragment ends (kEncodeWindowBytes): at a space between two
// letters or digits — a boundary no merge or pre-token of the supported vocabularies
// crosses ("x▁word", "x| word"), so such a split gives the same tokens — else, for a run with no
// such space (one huge word), at a UTF-8 character boundary.
size_t WindowEnd(std::string_view text) {
  constexpr size_t kWindow = kEncodeWindowBytes;
  if (text.size() <= kWindow) return text.size();
  for (size_t p = kWindow; p > kWindow / 2; --p) {
    if (text[p] == ' ' && p + 1 < text.size() && IsAsciiAlnum(text[p - 1]) &&
        IsAsciiAlnum(text[p + 1])) {
      return p;
    }
  }
  size_t p = kWindow;
  while (p > 1 && (static_cast<uint8_t>(text[p]) & 0xC0) == 0x80) --p;
  return p;
}

bool IsSpecialType(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined ||
         type == TokenType::kUnknown;
}

}  // namespace

struct Tokenizer::State {
  Vocabulary vocab;
  std::unordered_map<std::string_view, TokenId> ids;  // views into vocab.tokens
  // Whole-token matches before BPE: control, user-defined and unknown tokens by text.
  std::unordered_map<std::string_view, TokenId> specials;
  std::vector<size_t> special_lengths;  // distinct lengths, longest first
  std::array<bool, 256> special_first_byte{};
  std::vector<TokenId> byte_tokens;  // [256] <0xNN> (text models) or GPT-2 char tokens
  MergeTable merges;
  std::optional<PreTokenizer> pre;
  ByteUnicodeMap byte_map;

  void EncodeFragment(std::string_view text, bool first_after_special,
                      std::vector<TokenId>& out) const;
  void EncodeWindow(std::string_view text, bool first_after_special,
                    std::vector<TokenId>& out) const;
  void EncodeMergesBpe(std::string_view text, std::vector<TokenId>& out) const;
  void EncodeByteLevel(std::string_view text, std::vector<TokenId>& out) const;
};

Result<Tokenizer> Tokenizer::Create(Vocabulary vocab) {
  RETURN_IF_ERROR(Validate(vocab));
  auto state = std::make_shared<State>();
  state->vocab = std::move(vocab);
  const Vocabulary& v = state->vocab;
  state->ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.tokens[i].empty()) continue;
    const auto id = static_cast<TokenId>(i);
    state->ids[v.tokens[i]] = id;  // a duplicated text maps to its last id, as in llama.cpp
    if (IsSpecialType(v.types[i])) {
      state->specials[v.tokens[i]] = id;
      state->special_first_byte[static_cast<uint8_t>(v.tokens[i][0])] = true;
      state->special_lengths.push_back(v.tokens[i].size());
    }
  }
  auto& lengths = state->special_lengths;
  std::sort(lengths.begin(), lengths.end(), std::greater<>());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());

  state->byte_tokens.assign(256, kNoToken);
  if (v.kind == ModelKind::kByteLevelBpe) {
    for (int b = 0; b < 256; ++b) {
      const auto it = state->ids.find(state->byte_map.Encode(static_cast<uint8_t>(b)));
      if (it != state->ids.end()) state->byte_tokens[b] = it->second;
    }
    const std::string_view pattern =
        v.pre_regex.empty() ? PreTokenizerPattern(v.pre) : std::string_view(v.pre_regex);
    if (pattern.empty()) {
      return Unimplemented("tokenizer: pre-tokenizer '" + v.pre +
                           "' is not supported "
                           "(gpt2/default, llama-bpe, gpt-4o are)");
    }
    ASSIGN_OR_RETURN(PreTokenizer pre, PreTokenizer::Create(pattern));
    state->pre = std::move(pre);
  } else {
    for (size_t i = 0; i < v.size(); ++i) {
      const int byte = ParseByteToken(v.tokens[i]);
      if (byte >= 0 && state->byte_tokens[byte] == kNoToken) {
        state->byte_tokens[byte] = static_cast<TokenId>(i);
      }
    }
  }
  if (v.kind != ModelKind::kSentencePiece) {
    RETURN_IF_ERROR(state->merges.Build(v, state->ids));
  }
  Tokenizer tokenizer;
  tokenizer.state_ = std::move(state);
  return tokenizer;
}

Result<Tokenizer> Tokenizer::FromGguf(const gguf::File& file) {
  ASSIGN_OR_RETURN(Vocabulary vocab, VocabularyFromGguf(file));
  return Create(std::move(vocab));
}

Result<Tokenizer> Tokenizer::FromHuggingFaceDirectory(const std::string& dir) {
  ASSIGN_OR_RETURN(Vocabulary vocab, LoadHuggingFaceDirectory(dir));
  return Create(std::move(vocab));
}

const Vocabulary& Tokenizer::vocab() const { return state_->vocab; }

TokenId Tokenizer::Find(std::string_view text) const {
  const auto it = state_->ids.find(text);
  return it == state_->ids.end() ? kNoToken : it->second;
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, const EncodeOptions& options) const {
  const State& s = *state_;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_bos && s.vocab.add_bos && s.vocab.bos != kNoToken) out.push_back(s.vocab.bos);
  // Split into raw fragments and whole special tokens: leftmost, then longest.
  bool first_after_special = true;  // llama.cpp's is_prev_special: the text start counts
  size_t fragment_start = 0;
  size_t i = 0;
  size_t literal = 0;  // the first literal range that does not end before i
  while (i < text.size()) {
    TokenId match = kNoToken;
    size_t match_length = 0;
    if (s.special_first_byte[static_cast<uint8_t>(text[i])]) {
      while (literal < options.literal.size() && options.literal[literal].end <= i) ++literal;
      for (const size_t length : s.special_lengths) {
        if (length > text.size() - i) continue;
        const auto it = s.specials.find(text.substr(i, length));
        if (it == s.specials.end()) continue;
        if (s.vocab.types[it->second] != TokenType::kUserDefined) {
          if (!options.parse_special) continue;
          // Overlapping literal text: not a control token.
          if (literal < options.literal.size() && options.literal[literal].begin < i + length) {
            continue;
          }
        }
        match = it->second;
        match_length = length;
        break;
      }
    }
    if (match == kNoToken) {
      ++i;
      continue;
    }
    if (i > fragment_start) {
      s.EncodeFragment(text.substr(fragment_start, i - fragment_start), first_after_special, out);
    }
    out.push_back(match);
    first_after_special = true;
    i += match_length;
    fragment_start = i;
  }
  if (fragment_start < text.size()) {
    s.EncodeFragment(text.substr(fragment_start), first_after_special, out);
  }
  return out;
}

// BPE's working memory (symbols, candidate heap, pre-tokens) grows with the text it merges, so a
// long fragment goes window by window: whatever the text, one Encode holds O(kEncodeWindowBytes).
void Tokenizer::State::EncodeFragment(std::string_view text, bool first_after_special,
                                      std::vector<TokenId>& out) const {
  while (!text.empty()) {
    const size_t end = WindowEnd(text);
    EncodeWindow(text.substr(0, end), first_after_special, out);
    text.remove_prefix(end);
    first_after_special = false;
  }
}

void Tokenizer::State::EncodeWindow(std::string_view text, bool first_after_special,
                                    std::vector<TokenId>& out) const {
  if (vocab.kind == ModelKind::kByteLevelBpe) {
    EncodeByteLevel(text, out);
    return;
  }
  std::string escaped;
  if (vocab.add_space_prefix && first_after_special) escaped = kSpaceMarker;
  escaped += EscapeSpaces(text);
  if (vocab.kind == ModelKind::kSentencePiece) {
    EncodeSentencePiece({&vocab, &ids, &byte_tokens}, escaped, out);
  } else {
    EncodeMergesBpe(escaped, out);
  }
}

void Tokenizer::State::EncodeMergesBpe(std::string_view text, std::vector<TokenId>& out) const {
  if (vocab.ignore_merges) {
    if (const auto it = ids.find(text); it != ids.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // HF BPE with byte_fallback: one symbol per character, or its bytes when it is no token.
  std::vector<TokenId> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(offset));
    const size_t length = seq.kind == Utf8Sequence::Kind::kComplete ? seq.length : 1;
    const std::string_view character = text.substr(offset, length);
    const auto it = ids.find(character);
    if (it != ids.end() && !IsSpecialType(vocab.types[it->second])) {
      symbols.push_back(it->second);
    } else {
      for (const char c : character) {
        const TokenId byte_token = byte_tokens[static_cast<uint8_t>(c)];
        if (byte_token != kNoToken) {
          symbols.push_back(byte_token);
        } else if (vocab.unk != kNoToken) {
          symbols.push_back(vocab.unk);
        }
      }
    }
    offset += length;
  }
  MergeByRank(merges, symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void Tokenizer::State::EncodeByteLevel(std::string_view text, std::vector<TokenId>& out) const {
  // The regex needs valid UTF-8; like llama.cpp, each stray byte becomes U+FFFD.
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = ReplaceInvalidBytes(text);
    text = repaired;
  }
  std::vector<std::string_view> pieces;
  pre->Split(text, pieces);
  std::vector<TokenId> symbols;
  std::string mapped;
  for (const std::string_view piece : pieces) {
    if (vocab.ignore_merges) {
      mapped.clear();
      for (const char c : piece) mapped += byte_map.Encode(static_cast<uint8_t>(c));
      if (const auto it = ids.find(mapped); it != ids.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    symbols.clear();
    for (const char c : piece) {
      const TokenId id = byte_tokens[static_cast<uint8_t>(c)];
      if (id != kNoToken) {
        symbols.push_back(id);
      } else if (vocab.unk != kNoToken) {
        symbols.push_back(vocab.unk);
      }
    }
    MergeByRank(merges, symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
  }
}

std::string Tokenizer::TokenBytes(TokenId id, const DecodeOptions& options) const {
  const State& s = *state_;
  std::string out;
  if (id < 0 || static_cast<size_t>(id) >= s.vocab.size()) return out;
  const std::string& text = s.vocab.tokens[id];
  const TokenType type = s.vocab.types[id];
  if ((type == TokenType::kControl || type == TokenType::kUnknown) && !options.render_special) {
    return out;
  }
  if (s.vocab.kind == ModelKind::kByteLevelBpe) {
    if (type != TokenType::kNormal && type != TokenType::kUndefined) return text;
    for (size_t i = 0; i < text.size();) {
      const Utf8Sequence seq = NextUtf8Sequence(std::string_view(text).substr(i));
      const int byte =
          seq.kind == Utf8Sequence::Kind::kComplete ? s.byte_map.Decode(seq.codepoint) : -1;
      const size_t length = seq.kind == Utf8Sequence::Kind::kComplete ? seq.length : 1;
      if (byte >= 0) {
        out += static_cast<char>(byte);
      } else {
        out.append(text, i, length);
      }
      i += length;
    }
    return out;
  }
  if (type == TokenType::kByte) {
    const int byte = ParseByteToken(text);
    if (byte >= 0) return std::string(1, static_cast<char>(byte));
  }
  // HF's decoder turns "▁" into a space in every token, user-defined ones ("▁▁▁") included.
  UnescapeSpaces(text, out);
  return out;
}

std::string Tokenizer::DecodeBytes(std::span<const TokenId> ids,
                                   const DecodeOptions& options) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = TokenBytes(ids[i], options);
    // The prefix space Encode added is not part of the text.
    if (i == 0 && vocab().add_space_prefix && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  return RepairUtf8(DecodeBytes(ids, options));
}

std::string StreamingDetokenizer::Push(TokenId id) {
  std::string piece = tokenizer_->TokenBytes(id, options_);
  if (first_ && !piece.empty()) {
    if (tokenizer_->vocab().add_space_prefix && piece[0] == ' ') piece.erase(0, 1);
    first_ = false;
  }
  pending_ += piece;
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(std::string_view(pending_).substr(i));
    if (seq.kind == Utf8Sequence::Kind::kIncomplete) break;  // a later token may complete it
    if (seq.kind == Utf8Sequence::Kind::kComplete) {
      out.append(pending_, i, seq.length);
    } else {
      out += kReplacementCharacter;
    }
    i += seq.length;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamingDetokenizer::Finish() {
  std::string out = RepairUtf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace snug::tokenizer
