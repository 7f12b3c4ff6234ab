// A scripted Engine for the server's tests: it records what it was asked and answers each
// choice with "Hello world" (two deltas; reasoning "Let me think." first when the request asks
// for it), or fails the way a test tells it to. Tokens are the
// byte tokens of the test tokenizer, so the text and the ids agree.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace snug::server::testing {

// <pad> <eos> <bos> <unk> <start_of_turn> <end_of_turn>, then the 256 byte tokens.
inline tokenizer::Tokenizer TestTokenizer() {
  tokenizer::Vocabulary vocab;
  vocab.kind = tokenizer::ModelKind::kSentencePiece;
  auto add = [&](std::string text, tokenizer::TokenType type) {
    vocab.tokens.push_back(std::move(text));
    vocab.types.push_back(type);
    vocab.scores.push_back(0);
  };
  add("<pad>", tokenizer::TokenType::kControl);
  add("<eos>", tokenizer::TokenType::kControl);
  add("<bos>", tokenizer::TokenType::kControl);
  add("<unk>", tokenizer::TokenType::kUnknown);
  add("<start_of_turn>", tokenizer::TokenType::kControl);
  add("<end_of_turn>", tokenizer::TokenType::kControl);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", tokenizer::TokenType::kByte);
  }
  vocab.pad = 0;
  vocab.eos = 1;
  vocab.bos = 2;
  vocab.unk = 3;
  vocab.eot = 5;
  vocab.add_bos = true;
  auto tokenizer = tokenizer::Tokenizer::Create(std::move(vocab));
  CHECK(tokenizer.ok()) << tokenizer.status().ToString();
  return std::move(tokenizer).value();
}

inline std::vector<int32_t> ByteTokens(const std::string& text) {
  std::vector<int32_t> ids;
  for (unsigned char c : text) ids.push_back(6 + c);
  return ids;
}

class FakeHandle : public RequestHandle {
 public:
  FakeHandle(std::deque<Event> events, bool endless, std::atomic<int>* cancels)
      : events_(std::move(events)), endless_(endless), cancels_(cancels) {}

  std::optional<Event> Next(int timeout_ms) override {
    if (endless_ && !cancelled_) {
      // A long generation: a token every 2 ms until cancelled.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      events::Delta delta;
      delta.text = "x";
      delta.tokens = ByteTokens("x");
      return delta;
    }
    if (endless_ && cancelled_ && !ended_) {
      ended_ = true;
      events_.clear();
      events_.push_back(events::Finish{.reason = FinishReason::kCancelled});
      events_.push_back(events::Done{});
    }
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  void Cancel() override {
    if (!cancelled_.exchange(true)) ++*cancels_;
  }

 private:
  std::deque<Event> events_;
  bool endless_;
  bool ended_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<int>* cancels_;
};

class FakeEngine : public Engine {
 public:
  // What the next Submit does.
  Status submit_status;          // not ok: Submit fails with it
  bool fail_mid_stream = false;  // one delta, then kError
  bool endless = false;          // deltas until cancelled
  std::atomic<int> cancels{0};
  int context = 64;              // what context_tokens() says

  Result<std::unique_ptr<RequestHandle>> Submit(Request request) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    if (!submit_status.ok()) return submit_status;
    std::deque<Event> events;
    const int prompt_tokens = static_cast<int>(request.prompt.size());
    events.push_back(
        events::PrefillProgress{.prefill_done = prompt_tokens, .prefill_total = prompt_tokens});
    int completion_tokens = 0;
    for (int choice = 0; choice < request.n; ++choice) {
      if (request.reasoning_format) {  // a reasoning model thinks first
        events::Delta thought;
        thought.choice = choice;
        thought.reasoning = "Let me think.";
        events.push_back(thought);
      }
      for (const std::string piece : {"Hello", " world"}) {
        events::Delta delta;
        delta.choice = choice;
        delta.text = piece;
        delta.tokens = ByteTokens(piece);
        completion_tokens += static_cast<int>(delta.tokens.size());
        if (request.logprobs) {
          delta.logprobs.assign(delta.tokens.size(), -0.5f);
          delta.top_logprobs.assign(
              delta.tokens.size(),
              std::vector<TokenLogprob>(request.top_logprobs, {.token = 7, .logprob = -1.0f}));
        }
        events.push_back(delta);
        if (fail_mid_stream) {
          events.push_back(events::Failure{Internal("engine: a step failed: test")});
          break;
        }
      }
      if (fail_mid_stream) break;
      events.push_back(events::Finish{.choice = choice, .reason = FinishReason::kStop});
    }
    events.push_back(events::Done{
        .prompt_tokens = prompt_tokens, .completion_tokens = completion_tokens, .cached_tokens = 3});
    return std::unique_ptr<RequestHandle>(
        std::make_unique<FakeHandle>(std::move(events), endless, &cancels));
  }

  EngineStats Stats() const override {
    EngineStats stats;
    stats.slots = 4;
    stats.queue_limit = 2;
    stats.running = 1;
    stats.waiting = 2;
    stats.kv_bytes = 12345;
    stats.cached_prompt_tokens = 300;
    stats.prefix_cache_hits = 7;
    return stats;
  }
  void Shutdown(int) override {}
  int context_tokens() const override { return context; }
  const std::string& model_name() const override { return name_; }
  const MediaSupport& media_support() const override { return media; }

  MediaSupport media;  // what the fake model "takes" (tests set it)

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::string name_ = "fake-model";
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

}  // namespace snug::server::testing
