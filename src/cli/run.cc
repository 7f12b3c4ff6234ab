// `snug run MODEL [PROMPT]`: generate in the terminal. Streams the answer, then prints prefill
// and decode speed and peak memory. Without a prompt: an interactive chat. With --tokens and
// --json: a machine-readable mode (one JSON object per generated token) used by the
// conformance tests against llama.cpp.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/process_memory.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "engine/chat.h"
#include "engine/generate.h"
#include "engine/loaded_model.h"
#include "engine/stop.h"

namespace snug::cli {
namespace {

struct RunOptions {
  std::string model_path;
  std::string prompt;
  std::string system;
  std::string tokens;  // "1,2,3"
  std::vector<std::string> stops;
  int max_tokens = 256;
  int threads = 0;
  int batch_tokens = 512;
  int context_tokens = 4096;
  int top_logprobs = 0;
  KvType kv_type = KvType::kF16;
  bool raw = false;
  bool json = false;
  bool bench = false;
  SamplingParams sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f};
};

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

class Runner {
 public:
  Runner(const RunOptions& options, LoadedModel loaded, std::unique_ptr<KvCache> kv)
      : options_(options), loaded_(std::move(loaded)), kv_(std::move(kv)) {}

  // Generates from `prompt` tokens, printing as it goes; false on error (already printed).
  bool Generate(const std::vector<int32_t>& prompt, std::string* answer) {
    GenerateRequest request;
    request.prompt = prompt;
    request.max_tokens = options_.max_tokens;
    request.sampling = options_.sampling;
    request.stop_tokens = EndOfGenerationTokens(loaded_.tokenizer);
    request.logprobs = options_.json;
    request.top_logprobs = options_.json ? std::max(options_.top_logprobs, 0) : 0;
    request.batch_tokens = options_.batch_tokens;
    tokenizer::StreamingDetokenizer detokenizer(loaded_.tokenizer);
    StopMatcher stops(options_.stops);
    auto emit = [&](const std::string& text) {
      if (answer != nullptr) *answer += text;
      if (!options_.json && !options_.bench) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
    };
    auto on_token = [&](const TokenEvent& event) {
      const std::string text = stops.Push(detokenizer.Push(event.token));
      if (options_.json) {
        nlohmann::json line = {{"token", event.token},
                               {"text", loaded_.tokenizer.TokenBytes(event.token)},
                               {"logprob", event.logprob}};
        nlohmann::json top = nlohmann::json::array();
        for (const TokenLogprob& alternative : event.top) {
          top.push_back({{"token", alternative.token}, {"logprob", alternative.logprob}});
        }
        line["top_logprobs"] = top;
        std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                .c_str());
      }
      emit(text);
      return !stops.stopped();
    };
    auto result = snug::Generate(*loaded_.model, *kv_, 0, request, on_token);
    if (!result.ok()) {
      std::fprintf(stderr, "snug run: %s\n", result.status().message().c_str());
      return false;
    }
    if (!stops.stopped()) emit(stops.Finish() + detokenizer.Finish());
    PrintStats(*result);
    return true;
  }

  const LoadedModel& loaded() const { return loaded_; }

 private:
  void PrintStats(const GenerateResult& result) const {
    const double prefill_rate = result.prompt_tokens / std::max(result.prefill_seconds, 1e-9);
    const double decode_rate =
        result.generated_tokens / std::max(result.decode_seconds, 1e-9);
    const char* finish = result.finish == FinishReason::kStop ? "stop" : "length";
    if (options_.json || options_.bench) {
      nlohmann::json summary = {{"finish_reason", finish},
                                {"prompt_tokens", result.prompt_tokens},
                                {"completion_tokens", result.generated_tokens},
                                {"prefill_tokens_per_second", prefill_rate},
                                {"decode_tokens_per_second", decode_rate},
                                {"peak_rss_bytes", PeakRssBytes()}};
      std::printf("%s\n", summary.dump().c_str());
      return;
    }
    std::fprintf(stderr,
                 "\n\n[%s] prompt %d tokens, %.1f tokens/s | generated %d tokens, %.1f tokens/s "
                 "| peak memory %.1f MiB\n",
                 finish, result.prompt_tokens, prefill_rate, result.generated_tokens,
                 decode_rate, PeakRssBytes() / 1048576.0);
  }

  RunOptions options_;
  LoadedModel loaded_;
  std::unique_ptr<KvCache> kv_;
};

Result<std::vector<int32_t>> ChatPrompt(const Runner& runner, tokenizer::ChatFormat format,
                                        const std::vector<tokenizer::ChatMessage>& messages) {
  ASSIGN_OR_RETURN(std::string text, tokenizer::RenderChat(format, messages));
  return runner.loaded().tokenizer.Encode(text, {.add_bos = false, .parse_special = true});
}

int Interactive(Runner& runner, const RunOptions& options, tokenizer::ChatFormat format) {
  std::vector<tokenizer::ChatMessage> messages;
  if (!options.system.empty()) messages.push_back({"system", options.system});
  std::fprintf(stderr, "snug: chatting with %s (empty line or Ctrl-D to quit)\n",
               options.model_path.c_str());
  std::string line;
  while (true) {
    std::fprintf(stderr, "\n> ");
    if (!std::getline(std::cin, line) || line.empty()) return 0;
    messages.push_back({"user", line});
    auto prompt = ChatPrompt(runner, format, messages);
    if (!prompt.ok()) {
      std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
      return 1;
    }
    std::string answer;
    if (!runner.Generate(*prompt, &answer)) {
      messages.pop_back();
      continue;
    }
    messages.push_back({"assistant", answer});
  }
}

int Run(const RunOptions& options) {
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  auto loaded = LoadModelFile(options.model_path,
                              {.batch_tokens = options.batch_tokens, .threads = threads}, pool);
  if (!loaded.ok()) {
    std::fprintf(stderr, "snug run: %s\n", loaded.status().message().c_str());
    return 1;
  }
  const ModelSpec& spec = loaded->model->spec();
  const int context = std::min(options.context_tokens, spec.context_tokens);
  auto kv = KvCache::Create(spec.KvLayers(), {.slots = 1,
                                              .context_tokens = context,
                                              .batch_tokens = options.batch_tokens,
                                              .type = options.kv_type});
  if (!kv.ok()) {
    std::fprintf(stderr, "snug run: %s\n", kv.status().message().c_str());
    return 1;
  }
  Runner runner(options, std::move(*loaded), std::move(*kv));
  const tokenizer::Tokenizer& tokenizer = runner.loaded().tokenizer;

  if (!options.tokens.empty()) {
    auto prompt = ParseTokenList(options.tokens);
    if (!prompt.ok()) {
      std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
      return 2;
    }
    return runner.Generate(*prompt, nullptr) ? 0 : 1;
  }
  if (options.raw) {
    if (options.prompt.empty()) {
      std::fprintf(stderr, "snug run: --raw needs a PROMPT\n");
      return 2;
    }
    const auto prompt = tokenizer.Encode(options.prompt, {.add_bos = true, .parse_special = true});
    return runner.Generate(prompt, nullptr) ? 0 : 1;
  }
  auto format = ChatFormatFor(spec);
  if (!format.ok()) {
    std::fprintf(stderr, "snug run: %s\n", format.status().message().c_str());
    return 1;
  }
  if (options.prompt.empty()) return Interactive(runner, options, *format);
  std::vector<tokenizer::ChatMessage> messages;
  if (!options.system.empty()) messages.push_back({"system", options.system});
  messages.push_back({"user", options.prompt});
  auto prompt = ChatPrompt(runner, *format, messages);
  if (!prompt.ok()) {
    std::fprintf(stderr, "snug run: %s\n", prompt.status().message().c_str());
    return 1;
  }
  return runner.Generate(*prompt, nullptr) ? 0 : 1;
}

}  // namespace

void AddRunCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "Generate text from a model in the terminal");
  run->add_option("MODEL", options->model_path, "GGUF model file")->required();
  run->add_option("PROMPT", options->prompt, "Prompt (omit for an interactive chat)");
  run->add_option("--system", options->system, "System prompt");
  run->add_option("-n,--max-tokens", options->max_tokens, "Tokens to generate at most")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  run->add_option("--temperature", options->sampling.temperature, "0 = greedy")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  run->add_option("--top-k", options->sampling.top_k, "0 = off")->capture_default_str();
  run->add_option("--top-p", options->sampling.top_p, "1 = off")->capture_default_str();
  run->add_option("--min-p", options->sampling.min_p, "0 = off")->capture_default_str();
  run->add_option("--repeat-penalty", options->sampling.repetition_penalty, "1 = off")
      ->capture_default_str();
  run->add_option("--presence-penalty", options->sampling.presence_penalty)
      ->capture_default_str();
  run->add_option("--frequency-penalty", options->sampling.frequency_penalty)
      ->capture_default_str();
  run->add_option("--seed", options->sampling.seed, "Sampling seed (same seed, same output)")
      ->capture_default_str();
  run->add_option("--stop", options->stops, "Stop string (repeatable)");
  run->add_option("-t,--threads", options->threads, "Threads (0 = one per core)")
      ->capture_default_str();
  run->add_option("--batch-tokens", options->batch_tokens, "Prefill chunk size")
      ->capture_default_str()->check(CLI::Range(1, 65536));
  run->add_option("--ctx", options->context_tokens, "Context tokens")
      ->capture_default_str()->check(CLI::Range(16, 1 << 24));
  run->add_option("--kv-type", options->kv_type, "KV cache type: f16 (default), q8_0, q4_0")
      ->transform(CLI::CheckedTransformer(KvTypeNames(), CLI::ignore_case).description(""))
      ->type_name("f16|q8_0|q4_0");
  run->add_flag("--raw", options->raw, "No chat template: the prompt is the text");
  run->add_option("--tokens", options->tokens, "Prompt as token ids: 1,2,3 (implies --raw)");
  run->add_flag("--json", options->json, "One JSON object per generated token, then a summary");
  run->add_flag("--bench", options->bench,
                "Print nothing but a JSON summary (speed, peak memory): for benchmarks");
  run->add_option("--top-logprobs", options->top_logprobs, "Alternatives per token with --json")
      ->capture_default_str()->check(CLI::Range(0, 20));
  run->callback([options, &exit_code] { exit_code = Run(*options); });
}

}  // namespace snug::cli
