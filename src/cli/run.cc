// `snug run MODEL [PROMPT]`: generate in the terminal, as a client of the Engine like the server
// (one sequence; the engine holds every rule: validation, sampling, stop strings and tokens).
// Streams the answer, then prints prefill and decode speed and peak memory. Without a prompt:
// the interactive chat (chat_session.cc). With --tokens and --json: a machine-readable mode (one
// JSON object per generated token) used by the conformance tests against llama.cpp.
#include "cli/run.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/overloaded.h"
#include "base/process_memory.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/media_files.h"
#include "engine/chat.h"
#include "engine/loaded_model.h"
#include "memory/size.h"

namespace snug::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT while an answer streams (a signal handler can only set a flag).
volatile sig_atomic_t g_interrupted = 0;
void OnSigint(int) { g_interrupted = 1; }

Result<std::vector<int32_t>> ParseTokenList(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      const long value = std::stol(item, &used);
      if (used != item.size() || value < 0 || value > INT32_MAX) throw std::out_of_range(item);
      ids.push_back(static_cast<int32_t>(value));
    } catch (const std::exception&) {
      return InvalidArgument("run: --tokens expects comma-separated token ids, got '" + item +
                             "'");
    }
  }
  if (ids.empty()) return InvalidArgument("run: --tokens is empty");
  return ids;
}

// Reads the file through the page cache with a progress line, so a large model's first answer
// does not stall silently while its weights page in from disk (the mapping then finds them).
void PageIn(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  const off_t size = lseek(fd, 0, SEEK_END);
  if (size < (off_t{256} << 20)) {  // small files load before anyone notices
    close(fd);
    return;
  }
  posix_fadvise(fd, 0, size, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(8 << 20);
  off_t done = 0;
  Clock::time_point shown{};
  while (done < size) {
    const ssize_t got = pread(fd, buffer.data(), buffer.size(), done);
    if (got <= 0) break;
    done += got;
    if (Clock::now() - shown > std::chrono::milliseconds(200) || done == size) {
      shown = Clock::now();
      std::fprintf(stderr, "\rsnug: loading %s: %3d%% of %s", path.c_str(),
                   static_cast<int>(100 * done / size), memory::FormatBytes(size).c_str());
    }
  }
  std::fprintf(stderr, "\r\033[K");
  close(fd);
}

}  // namespace

RunSession::RunSession(const RunOptions& options, StartedRun started)
    : options_(options), started_(std::move(started)) {}

Result<std::vector<int32_t>> RunSession::ChatPrompt(
    const std::vector<tokenizer::ChatMessage>& messages) const {
  ASSIGN_OR_RETURN(tokenizer::ChatPrompt prompt,
                   tokenizer::RenderChatPrompt(*started_.chat_format, messages));
  return tokenizer::EncodeChat(started_.tokenizer, prompt);
}

RunSession::Answer RunSession::Generate(std::vector<int32_t> prompt, bool chat,
                                        std::vector<MediaInput> media) {
  Answer answer;
  Request request;
  request.prompt = std::move(prompt);
  request.media = std::move(media);
  request.max_tokens = options_.max_tokens;
  if (chat) {
    // A conversation grows turn by turn: -n is the most an answer may take, within the room
    // the context has left.
    const int room = started_.engine->context_tokens() - static_cast<int>(request.prompt.size());
    if (room <= 0) {
      std::fprintf(stderr,
                   "snug run: the conversation (%zu tokens) fills the context of %d tokens: "
                   "/reset starts over (or run with a larger --ctx)\n",
                   request.prompt.size(), started_.engine->context_tokens());
      answer.ok = false;
      return answer;
    }
    request.max_tokens = std::min(request.max_tokens, room);
  }
  request.sampling = options_.sampling;
  request.stop = options_.stops;
  request.logprobs = options_.json;
  request.top_logprobs = options_.json ? options_.top_logprobs : 0;
  if (chat && started_.chat_format.ok() &&
      *started_.chat_format == tokenizer::ChatFormat::kHarmony) {
    request.reasoning_format = *started_.chat_format;
  }
  const int prompt_tokens = static_cast<int>(request.prompt.size());
  const Clock::time_point submitted = Clock::now();
  auto handle = started_.engine->Submit(std::move(request));
  if (!handle.ok()) {
    std::fprintf(stderr, "snug run: %s\n", handle.status().message().c_str());
    answer.ok = false;
    return answer;
  }
  Clock::time_point prefilled = submitted, first_token{}, last_token{};
  FinishReason finish = FinishReason::kLength;
  int completion_tokens = 0;
  const bool quiet = options_.json || options_.bench;
  bool cancelled = false;
  while (true) {
    if (g_interrupted && !cancelled) {
      (*handle)->Cancel();
      cancelled = true;
    }
    // A timeout, to look at the interrupt flag; the loop returns at Done.
    std::optional<Event> event = (*handle)->Next(100);
    if (!event) continue;
    bool done = false;
    std::visit(
        Overloaded{
            [&](const events::PrefillProgress&) { prefilled = Clock::now(); },
            [&](const events::Delta& delta) {
              if (first_token == Clock::time_point{}) first_token = Clock::now();
              last_token = Clock::now();
              if (options_.json) {
                for (size_t i = 0; i < delta.tokens.size(); ++i) {
                  const int32_t token = delta.tokens[i];
                  nlohmann::json line = {
                      {"token", token},
                      {"text", started_.tokenizer.TokenBytes(token)},
                      {"logprob", i < delta.logprobs.size() ? delta.logprobs[i] : 0}};
                  nlohmann::json top = nlohmann::json::array();
                  if (i < delta.top_logprobs.size()) {
                    for (const TokenLogprob& alternative : delta.top_logprobs[i]) {
                      top.push_back(
                          {{"token", alternative.token}, {"logprob", alternative.logprob}});
                    }
                  }
                  line["top_logprobs"] = top;
                  std::printf("%s\n", line.dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace)
                                          .c_str());
                }
              }
              answer.text += delta.text;
              if (!quiet) {
                if (!delta.reasoning.empty()) {
                  // Thinking (Harmony's analysis channel), dimmed; it is not part of the answer.
                  std::printf("\033[2m%s\033[0m", delta.reasoning.c_str());
                }
                std::fwrite(delta.text.data(), 1, delta.text.size(), stdout);
                std::fflush(stdout);
              }
            },
            // snug run offers no tools, so the engine sends no tool calls.
            [](const events::ToolCallDelta&) {},
            [&](const events::Finish& end) { finish = end.reason; },
            [&](const events::Failure& failure) {
              std::fprintf(stderr, "\nsnug run: %s\n", failure.error.message().c_str());
              answer.ok = false;
            },
            [&](const events::Done& usage) {
              completion_tokens = usage.completion_tokens;
              done = true;
            }},
        *event);
    if (done) {
      answer.interrupted = cancelled;
      if (answer.ok) {
        PrintStats(finish, cancelled, prompt_tokens, completion_tokens, submitted, prefilled,
                   first_token, last_token);
      }
      return answer;
    }
  }
}

void RunSession::PrintStats(FinishReason finish, bool cancelled, int prompt_tokens,
                            int completion_tokens, Clock::time_point submitted,
                            Clock::time_point prefilled, Clock::time_point first_token,
                            Clock::time_point last_token) const {
  const auto seconds = [](Clock::time_point from, Clock::time_point to) {
    return std::max(std::chrono::duration<double>(to - from).count(), 1e-9);
  };
  const double prefill_rate = prompt_tokens / seconds(submitted, prefilled);
  // The first token comes with the prefill; the decode steps make the others.
  const double decode_rate = completion_tokens > 1
                                 ? (completion_tokens - 1) / seconds(first_token, last_token)
                                 : 0.0;
  const char* reason = cancelled                         ? "interrupted"
                       : finish == FinishReason::kStop   ? "stop"
                       : finish == FinishReason::kLength ? "length"
                                                         : "error";
  if (options_.json || options_.bench) {
    nlohmann::json summary = {{"finish_reason", reason},
                              {"prompt_tokens", prompt_tokens},
                              {"completion_tokens", completion_tokens},
                              {"prefill_tokens_per_second", prefill_rate},
                              {"decode_tokens_per_second", decode_rate},
                              {"peak_rss_bytes", PeakRssBytes()}};
    std::printf("%s\n", summary.dump().c_str());
    return;
  }
  std::fprintf(stderr,
               "\n\n[%s] prompt %d tokens, %.1f tokens/s | generated %d tokens, %.1f tokens/s "
               "| peak memory %.1f MiB\n",
               reason, prompt_tokens, prefill_rate, completion_tokens, decode_rate,
               PeakRssBytes() / 1048576.0);
}

void InstallInterruptHandler() {
  struct sigaction action = {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

void ClearInterrupt() { g_interrupted = 0; }

namespace {

int Run(const RunOptions& options) {
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool interactive = options.prompt.empty() && options.tokens.empty() && !options.raw;
  if (interactive && isatty(fileno(stderr))) PageIn(options.model_path);
  ThreadPool pool(threads);  // outlives the engine
  auto loaded = LoadModelFile(options.model_path,
                              {.batch_tokens = options.batch_tokens, .threads = threads}, pool,
                              options.mlock ? WeightResidency::kLock : WeightResidency::kPrefetch);
  if (!loaded.ok()) {
    PrintError("run", loaded.status(), options.verbose);
    return 1;
  }
  const ModelSpec& spec = loaded->model->spec();
  StartedRun started{.tokenizer = loaded->tokenizer, .chat_format = ChatFormatFor(spec)};
  const int context = std::min(options.context_tokens, spec.context_tokens);
  // One sequence; the next request waits for it, never longer than its release.
  auto engine = StartEngine(std::move(*loaded), {.parallel = 1,
                                                  .context_tokens = context,
                                                  .batch_tokens = options.batch_tokens,
                                                  .max_queue = 1,
                                                  .kv_type = options.kv_type});
  if (!engine.ok()) {
    std::fprintf(stderr, "snug run: %s\n", engine.status().message().c_str());
    return 1;
  }
  started.engine = std::move(*engine);
  RunSession session(options, std::move(started));

  if ((options.raw || !options.tokens.empty()) &&
      (!options.images.empty() || !options.audio.empty())) {
    std::fprintf(stderr, "snug run: --image and --audio need the chat template (not --raw or "
                         "--tokens)\n");
    return 2;
  }
  if (!options.tokens.empty()) {
    auto prompt = ParseTokenList(options.tokens);
    if (!prompt.ok()) {
      std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
      return 2;
    }
    return session.Generate(std::move(*prompt), /*chat=*/false).ok ? 0 : 1;
  }
  if (options.raw) {
    if (options.prompt.empty()) {
      std::fprintf(stderr, "snug run: --raw needs a PROMPT\n");
      return 2;
    }
    auto prompt =
        session.tokenizer().Encode(options.prompt, {.add_bos = true, .parse_special = true});
    return session.Generate(std::move(prompt), /*chat=*/false).ok ? 0 : 1;
  }
  if (!session.chat_format().ok()) {
    std::fprintf(stderr, "snug run: %s\n", session.chat_format().status().message().c_str());
    return 1;
  }
  if (options.prompt.empty()) return Chat(session, options);
  std::vector<tokenizer::ChatMessage> messages;
  if (!options.system.empty()) messages.push_back({"system", options.system});
  messages.push_back({"user", options.prompt});
  // Images, then audio clips, in the order given, before the prompt's text.
  std::vector<MediaInput> media;
  for (MediaKind kind : {MediaKind::kImage, MediaKind::kAudio}) {
    for (const std::string& path : kind == MediaKind::kImage ? options.images : options.audio) {
      Result<MediaFile> file =
          LoadMediaFile(path, kind, session.media_support(), options.image_tokens);
      if (!file.ok()) {
        std::fprintf(stderr, "snug run: %s\n", file.status().message().c_str());
        return 1;
      }
      messages.back().parts.push_back(file->part);
      media.push_back(std::move(file->input));
    }
  }
  if (!media.empty()) {
    messages.back().parts.push_back(
        {.type = tokenizer::ChatPartType::kText, .text = options.prompt});
    messages.back().content.clear();
  }
  auto prompt = session.ChatPrompt(messages);
  if (!prompt.ok()) {
    std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
    return 1;
  }
  return session.Generate(std::move(*prompt), /*chat=*/true, std::move(media)).ok ? 0 : 1;
}

}  // namespace

void AddRunCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "Generate text from a model in the terminal");
  AddModelArgument(*run, options->model);
  run->add_option("PROMPT", options->prompt, "Prompt (omit for an interactive chat)");
  run->add_option("--system", options->system, "System prompt");
  run->add_option("-n,--max-tokens", options->max_tokens, "Tokens to generate at most")
      ->capture_default_str()->check(AtLeast(0));
  run->add_option("--temperature", options->sampling.temperature, "0 = greedy")
      ->capture_default_str()->check(Between(0, 2, "0 = greedy"));
  run->add_option("--top-k", options->sampling.top_k, "0 = off")
      ->capture_default_str()->check(AtLeast(0, "0 = off"));
  run->add_option("--top-p", options->sampling.top_p, "1 = off")
      ->capture_default_str()->check(Between(0, 1, "1 = off"));
  run->add_option("--min-p", options->sampling.min_p, "0 = off")
      ->capture_default_str()->check(Between(0, 1, "0 = off"));
  run->add_option("--repeat-penalty", options->sampling.repetition_penalty, "1 = off")
      ->capture_default_str()->check(Between(0.01, 10, "1 = off"));
  run->add_option("--presence-penalty", options->sampling.presence_penalty)
      ->capture_default_str()->check(Between(-2, 2, "0 = off"));
  run->add_option("--frequency-penalty", options->sampling.frequency_penalty)
      ->capture_default_str()->check(Between(-2, 2, "0 = off"));
  run->add_option("--seed", options->sampling.seed, "Sampling seed (same seed, same output)")
      ->capture_default_str();
  run->add_option("--stop", options->stops, "Stop string (repeatable)");
  run->add_option("-t,--threads", options->threads, "Threads (0 = one per core)")
      ->capture_default_str()->check(AtLeast(0, "0 = one per core"));
  run->add_option("--batch-tokens", options->batch_tokens, "Prefill chunk size")
      ->capture_default_str()->check(Between(1, 65536));
  run->add_option("-c,--ctx,--ctx-size", options->context_tokens, "Context tokens")
      ->capture_default_str()->check(Between(16, 1 << 24));
  AddKvTypeOption(*run, options->kv_type);
  AddMlockFlag(*run, options->mlock);
  AddGpuLayersOption(*run);
  run->add_option("--image", options->images, "An image for the prompt (JPEG, PNG, WebP, GIF; "
                  "repeatable; a model with an image input path)");
  run->add_option("--audio", options->audio, "An audio clip for the prompt (WAV, FLAC, AIFF, "
                  "MP3, at most 30 s; repeatable)");
  run->add_option("--image-tokens", options->image_tokens,
                  "Soft tokens per image (more: finer detail, longer prefill)")
      ->capture_default_str()
      ->check(CLI::IsMember({70, 140, 280, 560, 1120}));
  run->add_flag("--raw", options->raw, "No chat template: the prompt is the text");
  run->add_option("--tokens", options->tokens, "Prompt as token ids: 1,2,3 (implies --raw)");
  run->add_flag("--json", options->json, "One JSON object per generated token, then a summary");
  AddVerboseFlag(*run, options->verbose);
  run->add_flag("--bench", options->bench,
                "Print nothing but a JSON summary (speed, peak memory): for benchmarks");
  run->add_option("--top-logprobs", options->top_logprobs, "Alternatives per token with --json")
      ->capture_default_str()->check(Between(0, 20));
  run->callback([options, &exit_code] {
    options->model_path = ResolveModel(options->model, &options->prompt);
    exit_code = Run(*options);
  });
}

}  // namespace snug::cli
