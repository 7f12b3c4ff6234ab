// PCRE2-backed regex pre-tokenizer (see pretokenizer.h).
#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace snug::tokenizer {
namespace {

// tiktoken o200k_base / o200k_harmony (gpt-oss, llama.cpp "gpt-4o").
constexpr std::string_view kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Meta Llama 3 tokenizer.py pat_str (llama.cpp "llama-bpe"); also tiktoken cl100k_base.
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*)"
    R"(|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-2 (llama.cpp "default"/"gpt2").
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Unicode White_Space = [\t-\r\x{85}\p{Z}] (the Z categories hold U+0020, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F and U+3000).
constexpr std::string_view kWhiteSpaceItems = R"(\t-\r\x{85}\p{Z})";

}  // namespace

std::string_view PreTokenizerPattern(std::string_view name) {
  if (name == "gpt-4o" || name == "o200k") return kO200k;
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3" || name == "cl100k") {
    return kLlama3;
  }
  if (name == "default" || name == "gpt2" || name == "gpt-2") return kGpt2;
  return {};
}

Result<std::string> TranslateRustRegex(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        if (in_class) {
          out += kWhiteSpaceItems;
        } else {
          out += '[';
          out += kWhiteSpaceItems;
          out += ']';
        }
      } else if (e == 'S') {
        if (in_class) {
          return Unimplemented("tokenizer: pre-tokenizer regex uses \\S inside a class");
        }
        out += "[^";
        out += kWhiteSpaceItems;
        out += ']';
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct PreTokenizer::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Result<PreTokenizer> PreTokenizer::Create(std::string_view pattern) {
  ASSIGN_OR_RETURN(const std::string translated, TranslateRustRegex(pattern));
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return InvalidArgument("tokenizer: pre-tokenizer regex does not compile at offset " +
                           std::to_string(error_offset) + ": " +
                           reinterpret_cast<const char*>(message));
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  // JIT is an optimisation: when it is unavailable pcre2_match interprets.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  PreTokenizer pre;
  pre.code_ = std::move(holder);
  return pre;
}

void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>& pieces) const {
  // Match data is per call so one PreTokenizer serves many threads.
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(code_->code, nullptr), &pcre2_match_data_free);
  CHECK(match != nullptr) << "pcre2 match data allocation failed";
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  size_t gap_start = 0;
  while (offset < text.size()) {
    // The caller guarantees valid UTF-8, so PCRE2 need not re-check it on every call.
    const int rc = pcre2_match(code_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               match.get(), nullptr);
    if (rc < 0) break;  // no more matches (or a resource limit): the rest is one gap
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const size_t begin = ovector[0], end = ovector[1];
    if (end == begin) {  // empty match: step over one character, it joins the gap
      offset = begin + 1;
      while (offset < text.size() && (static_cast<uint8_t>(text[offset]) & 0xC0) == 0x80) ++offset;
      continue;
    }
    if (begin > gap_start) pieces.push_back(text.substr(gap_start, begin - gap_start));
    pieces.push_back(text.substr(begin, end - begin));
    offset = gap_start = end;
  }
  if (gap_start < text.size()) pieces.push_back(text.substr(gap_start));
}

}  // namespace snug::tokenizer
