// What `snug run` and its interactive chat share: the options, and a session that submits one
// request at a time to the engine and prints its events (text, or --json lines) and statistics.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "engine/engine.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace snug::cli {

struct RunOptions {
  ModelArgument model;
  std::string model_path;  // resolved from `model`
  std::string prompt;
  std::string system;
  std::string tokens;  // "1,2,3"
  std::vector<std::string> stops;
  int max_tokens = 256;
  int threads = 0;
  bool mlock = false;
  int batch_tokens = 512;
  int context_tokens = 4096;
  int top_logprobs = 0;
  KvType kv_type = KvType::kF16;
  bool raw = false;
  bool json = false;
  bool bench = false;
  bool verbose = false;
  SamplingParams sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f};
  std::vector<std::string> images;  // --image FILE (repeatable)
  std::vector<std::string> audio;   // --audio FILE (repeatable)
  int image_tokens = 280;           // --image-tokens: soft tokens per image
};

struct StartedRun {
  std::unique_ptr<Engine> engine;
  tokenizer::Tokenizer tokenizer;
  Result<tokenizer::ChatFormat> chat_format;
};

class RunSession {
 public:
  RunSession(const RunOptions& options, StartedRun started);

  struct Answer {
    bool ok = true;            // false: an error (already printed)
    bool interrupted = false;  // Ctrl-C stopped it (SIGINT, InstallInterruptHandler)
    std::string text;          // what was shown (the answer, without reasoning)
  };
  // Runs one request, printing as it goes. `chat`: the prompt is a rendered conversation
  // (Harmony's analysis channel is then shown apart, dimmed). `media`: the conversation's images
  // and audio in order (engine::Request::media).
  Answer Generate(std::vector<int32_t> prompt, bool chat, std::vector<MediaInput> media = {});

  // The conversation rendered by the model's chat format, as tokens.
  Result<std::vector<int32_t>> ChatPrompt(
      const std::vector<tokenizer::ChatMessage>& messages) const;
  const tokenizer::Tokenizer& tokenizer() const { return started_.tokenizer; }
  const Result<tokenizer::ChatFormat>& chat_format() const { return started_.chat_format; }
  const MediaSupport& media_support() const { return started_.engine->media_support(); }

 private:
  using Clock = std::chrono::steady_clock;
  void PrintStats(FinishReason finish, bool cancelled, int prompt_tokens, int completion_tokens,
                  Clock::time_point submitted, Clock::time_point prefilled,
                  Clock::time_point first_token, Clock::time_point last_token) const;

  RunOptions options_;
  StartedRun started_;
};

// SIGINT sets a flag that the running Generate() turns into a Cancel (the answer stops, the
// session goes on). ClearInterrupt() before each answer.
void InstallInterruptHandler();
void ClearInterrupt();

// The interactive chat (chat_session.cc). Returns the exit code.
int Chat(RunSession& session, const RunOptions& options);

}  // namespace snug::cli
