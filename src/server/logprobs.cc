#include "server/logprobs.h"

#include <string>

namespace snug::server {
namespace {

nlohmann::json Bytes(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// The engine may send fewer logprobs than tokens (not asked for): those read as null.
template <class T>
const T* At(std::span<const T> values, size_t i) {
  return i < values.size() ? &values[i] : nullptr;
}

}  // namespace

nlohmann::json ChatLogprobContent(const tokenizer::Tokenizer& tokenizer,
                                  std::span<const int32_t> tokens, std::span<const float> logprobs,
                                  std::span<const std::vector<TokenLogprob>> top_logprobs) {
  nlohmann::json content = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string text = tokenizer.TokenBytes(tokens[i]);
    nlohmann::json top = nlohmann::json::array();
    if (const auto* alternatives = At(top_logprobs, i)) {
      for (const TokenLogprob& alternative : *alternatives) {
        const std::string alternative_text = tokenizer.TokenBytes(alternative.token);
        top.push_back({{"token", alternative_text},
                       {"logprob", alternative.logprob},
                       {"bytes", Bytes(alternative_text)}});
      }
    }
    const float* logprob = At(logprobs, i);
    content.push_back({{"token", text},
                       {"logprob", logprob ? nlohmann::json(*logprob) : nlohmann::json(nullptr)},
                       {"bytes", Bytes(text)},
                       {"top_logprobs", top}});
  }
  return content;
}

nlohmann::json CompletionLogprobs(const tokenizer::Tokenizer& tokenizer,
                                  std::span<const int32_t> tokens, std::span<const float> logprobs,
                                  std::span<const std::vector<TokenLogprob>> top_logprobs,
                                  size_t text_offset) {
  nlohmann::json token_texts = nlohmann::json::array();
  nlohmann::json token_logprobs = nlohmann::json::array();
  nlohmann::json tops = nlohmann::json::array();
  nlohmann::json offsets = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string text = tokenizer.TokenBytes(tokens[i]);
    token_texts.push_back(text);
    const float* logprob = At(logprobs, i);
    token_logprobs.push_back(logprob ? nlohmann::json(*logprob) : nlohmann::json(nullptr));
    nlohmann::json top = nlohmann::json::object();
    if (const auto* alternatives = At(top_logprobs, i)) {
      for (const TokenLogprob& alternative : *alternatives) {
        top[tokenizer.TokenBytes(alternative.token)] = alternative.logprob;
      }
    }
    tops.push_back(top);
    offsets.push_back(text_offset);
    text_offset += text.size();
  }
  return {{"tokens", token_texts},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", tops},
          {"text_offset", offsets}};
}

}  // namespace snug::server
