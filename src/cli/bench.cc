// `snug bench MODEL`: the safety and throughput test of a model at the settings `serve` would
// use. Plans memory with serve's flags, loads the model and starts the engine to the plan (as
// serve does, minus HTTP), then runs prompts of escalating length up to the per-request context
// and rounds of concurrent requests at the plan's parallelism. Each run reports prefill and
// decode tokens/s, time to first token, peak RSS and headroom against the plan; the verdict
// says whether the peak stayed within the plan and the plan within the budget.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/process_memory.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/planned_engine.h"
#include "memory/plan_format.h"
#include "memory/size.h"

namespace snug::cli {
namespace {

using Clock = std::chrono::steady_clock;
using memory::FormatBytes;

struct BenchOptions {
  ModelArgument model;
  std::string model_path;  // resolved from `model`
  ServingFigures serving;  // --max-queue, --max-body-bytes: serve's, so the plan is serve's
  PlanFlags plan;
  std::vector<int> lengths = {50, 500, 2000, 8000, 32000};
  int max_tokens = 32;
  int rounds = 2;
  int concurrent_prompt_tokens = 500;
  bool json = false;
  bool verbose = false;
};

// Starts a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM to VmRSS), so each
// run reports its own peak; the overall peak is the largest of them. Elsewhere the mark stays
// cumulative, which only makes each run's figure larger.
void ResetPeakRss() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  [[maybe_unused]] const ssize_t written = ::write(fd, "5", 1);
  ::close(fd);
}

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

// English prose: the prompt is made of it, after a header that differs per request, so no two
// prompts share more than a few tokens (a prefix cache must not make prefill look faster).
constexpr char kFiller[] =
    " The harbour was quiet before dawn, and the fishing boats rocked against their moorings"
    " while the lighthouse turned its slow beam across the water. Along the quay, merchants"
    " stacked crates of salt, rope and lamp oil, and a baker opened his shutters to the smell of"
    " bread. Somewhere a bell rang the hour; gulls answered it from the roofs of the old"
    " customs house, and the tide began to turn.";

std::vector<int32_t> MakePrompt(const tokenizer::Tokenizer& tokenizer, int length, int salt) {
  std::vector<int32_t> prompt = tokenizer.Encode(
      "Request " + std::to_string(salt) + ": " + std::to_string(salt * 7919 % 1000) + ".",
      {.add_bos = true});
  const std::vector<int32_t> filler = tokenizer.Encode(kFiller);
  CHECK(!filler.empty()) << "the tokenizer encodes the filler to nothing";
  while (static_cast<int>(prompt.size()) < length) {
    prompt.insert(prompt.end(), filler.begin(), filler.end());
  }
  prompt.resize(std::max(1, length));
  return prompt;
}

struct Timing {
  Status error;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double ttft_s = 0;   // submission to the first generated token
  double total_s = 0;  // submission to the last event
};

// Submits one greedy request and waits for all its events.
Timing RunRequest(Engine& engine, std::vector<int32_t> prompt, int max_tokens) {
  Timing timing;
  timing.prompt_tokens = static_cast<int>(prompt.size());
  Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = max_tokens;
  request.sampling.temperature = 0;
  const Clock::time_point start = Clock::now();
  auto handle = engine.Submit(std::move(request));
  if (!handle.ok()) {
    timing.error = handle.status();
    return timing;
  }
  bool first = true;
  while (std::optional<Event> event = (*handle)->Next(-1)) {
    if (const auto* delta = std::get_if<events::Delta>(&*event)) {
      if (first && !delta->echo) {
        timing.ttft_s = Seconds(Clock::now() - start);
        first = false;
      }
    } else if (const auto* failure = std::get_if<events::Failure>(&*event)) {
      timing.error = failure->error;
    } else if (const auto* done = std::get_if<events::Done>(&*event)) {
      timing.completion_tokens = done->completion_tokens;
    }
  }
  timing.total_s = Seconds(Clock::now() - start);
  if (first) timing.ttft_s = timing.total_s;  // nothing generated (max_tokens 0 or an error)
  return timing;
}

struct Run {
  std::string name;
  int requests = 0;
  int prompt_tokens = 0;      // per request
  int completion_tokens = 0;  // all requests
  double ttft_s = 0;          // the mean over requests
  double prefill_tokens_per_second = 0;
  double decode_tokens_per_second = 0;  // all requests together
  int64_t peak_rss_bytes = 0;
  std::string error;
};

// `count` requests of `length` prompt tokens submitted at once. Prefill speed is the prompt
// tokens over the time to the last first token; decode speed the tokens after each request's
// first, over the time from the first first token to the last answer.
Run RunConcurrent(Engine& engine, const tokenizer::Tokenizer& tokenizer, const std::string& name,
                  int count, int length, int max_tokens, int* salt) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < count; ++i) prompts.push_back(MakePrompt(tokenizer, length, (*salt)++));
  std::vector<Timing> timings(count);
  ResetPeakRss();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
      threads.emplace_back(
          [&, i] { timings[i] = RunRequest(engine, std::move(prompts[i]), max_tokens); });
    }
    for (std::thread& thread : threads) thread.join();
  }
  Run run;
  run.name = name;
  run.requests = count;
  run.prompt_tokens = length;
  run.peak_rss_bytes = PeakRssBytes();
  double last_first = 0, first_first = 1e300, last_end = 0;
  int decoded_after_first = 0;
  for (const Timing& timing : timings) {
    if (!timing.error.ok() && run.error.empty()) run.error = timing.error.message();
    run.completion_tokens += timing.completion_tokens;
    decoded_after_first += std::max(0, timing.completion_tokens - 1);
    run.ttft_s += timing.ttft_s / count;
    last_first = std::max(last_first, timing.ttft_s);
    first_first = std::min(first_first, timing.ttft_s);
    last_end = std::max(last_end, timing.total_s);
  }
  run.prefill_tokens_per_second = static_cast<double>(length) * count / std::max(last_first, 1e-9);
  if (decoded_after_first > 0) {
    run.decode_tokens_per_second = decoded_after_first / std::max(last_end - first_first, 1e-9);
  }
  return run;
}

// The listed lengths that fit the context with `max_tokens` after them; a listed length beyond
// it becomes the longest prompt the context allows, once.
std::vector<int> PromptLengths(const std::vector<int>& listed, int context_tokens, int max_tokens) {
  const int longest = context_tokens - max_tokens;
  std::vector<int> lengths;
  for (int length : listed) {
    const int fitted = std::min(length, longest);
    if (fitted >= 1 && (lengths.empty() || fitted > lengths.back())) lengths.push_back(fitted);
  }
  return lengths;
}

void PrintRun(const Run& run, int64_t plan_bytes) {
  std::printf("%-24s %8d %6d %9.1f %10.1f %10.1f %12s %12s%s%s\n", run.name.c_str(),
              run.prompt_tokens, run.completion_tokens, run.ttft_s * 1000,
              run.prefill_tokens_per_second, run.decode_tokens_per_second,
              FormatBytes(run.peak_rss_bytes).c_str(),
              FormatBytes(plan_bytes - run.peak_rss_bytes).c_str(), run.error.empty() ? "" : "  ",
              run.error.c_str());
  std::fflush(stdout);
}

nlohmann::ordered_json RunToJson(const Run& run, int64_t plan_bytes) {
  nlohmann::ordered_json json = {{"name", run.name},
                                 {"requests", run.requests},
                                 {"prompt_tokens", run.prompt_tokens},
                                 {"completion_tokens", run.completion_tokens},
                                 {"ttft_ms", run.ttft_s * 1000},
                                 {"prefill_tokens_per_second", run.prefill_tokens_per_second},
                                 {"decode_tokens_per_second", run.decode_tokens_per_second},
                                 {"peak_rss_bytes", run.peak_rss_bytes},
                                 {"headroom_bytes", plan_bytes - run.peak_rss_bytes}};
  if (!run.error.empty()) json["error"] = run.error;
  return json;
}

int Bench(const BenchOptions& options) {
  // The plan serve would run (its HTTP buffers included), so bench measures what serve runs.
  const ServingFigures& serving = options.serving;
  auto planned = PlanModel(options.model_path, options.plan, serving);
  if (!planned.ok()) {
    std::fprintf(stderr, "snug bench: %s\n", planned.status().message().c_str());
    return 1;
  }
  const memory::MemoryPlan& plan = planned->plan;
  if (!plan.fits) {
    std::fprintf(stderr, "snug bench: refusing to start: the memory plan %s\n\n%s",
                 plan.verdict.c_str(), FormatPlanReport(*planned).c_str());
    return 1;
  }
  if (!options.json) std::printf("%s\n", PlanSummaryLine(plan).c_str());

  ThreadPool pool(planned->options.threads);  // outlives the engine
  const Clock::time_point load_start = Clock::now();
  auto started = StartPlannedEngine(options.model_path, *planned, serving.max_queue, pool);
  if (!started.ok()) {
    PrintError("bench", started.status(), options.verbose);
    return 1;
  }
  Engine& engine = *started->engine;
  const double load_s = Seconds(Clock::now() - load_start);
  const int64_t load_peak = PeakRssBytes();
  if (!options.json) {
    std::printf("loaded in %.2f s, peak RSS %s\n\n", load_s, FormatBytes(load_peak).c_str());
    std::printf("%-24s %8s %6s %9s %10s %10s %12s %12s\n", "run", "prompt", "gen", "ttft_ms",
                "prefill/s", "decode/s", "peak RSS", "headroom");
  }

  std::vector<Run> runs;
  int salt = 1;
  auto record = [&](Run run) {
    if (!options.json) PrintRun(run, plan.total_bytes);
    runs.push_back(std::move(run));
  };
  for (int length : PromptLengths(options.lengths, plan.context_tokens, options.max_tokens)) {
    record(RunConcurrent(engine, started->tokenizer, "prompt " + std::to_string(length), 1, length,
                         options.max_tokens, &salt));
  }
  const int concurrent_length =
      std::min(options.concurrent_prompt_tokens, plan.context_tokens - options.max_tokens);
  for (int round = 1; concurrent_length >= 1 && round <= options.rounds; ++round) {
    record(
        RunConcurrent(engine, started->tokenizer,
                      std::to_string(plan.sequences) + " at once, round " + std::to_string(round),
                      plan.sequences, concurrent_length, options.max_tokens, &salt));
  }
  engine.Shutdown(0);

  int64_t peak = load_peak;
  bool failed = false;
  for (const Run& run : runs) {
    peak = std::max(peak, run.peak_rss_bytes);
    failed = failed || !run.error.empty();
  }
  const bool safe = peak <= plan.total_bytes && plan.total_bytes <= plan.budget.bytes;
  std::ostringstream verdict;
  if (safe) {
    verdict << "SAFE: peak " << FormatBytes(peak) << " ≤ plan " << FormatBytes(plan.total_bytes)
            << " ≤ budget " << FormatBytes(plan.budget.bytes);
  } else {
    verdict << "UNSAFE: peak " << FormatBytes(peak)
            << (peak <= plan.total_bytes ? " ≤ plan " : " > plan ") << FormatBytes(plan.total_bytes)
            << (plan.total_bytes <= plan.budget.bytes ? " ≤ budget " : " > budget ")
            << FormatBytes(plan.budget.bytes);
  }
  if (options.json) {
    nlohmann::ordered_json json;
    json["model"] = options.model_path;
    json["plan"] = memory::PlanToJson(plan, planned->facts);
    json["load"] = {{"seconds", load_s}, {"peak_rss_bytes", load_peak}};
    json["runs"] = nlohmann::ordered_json::array();
    for (const Run& run : runs) json["runs"].push_back(RunToJson(run, plan.total_bytes));
    json["peak_rss_bytes"] = peak;
    json["plan_bytes"] = plan.total_bytes;
    json["budget_bytes"] = plan.budget.bytes;
    json["safe"] = safe;
    json["errors"] = failed;
    json["verdict"] = verdict.str();
    std::cout << json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    std::printf("\n%s\n", verdict.str().c_str());
    if (failed) std::printf("some requests failed (see the runs above)\n");
  }
  return safe && !failed ? 0 : 1;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Safety and speed at serve's settings: escalating prompts, concurrent requests, "
      "peak memory against the plan");
  AddModelArgument(*bench, options->model);
  AddPlanFlags(*bench, options->plan);
  bench
      ->add_option("--max-queue", options->serving.max_queue,
                   "As serve's: the plan counts queued requests' connections")
      ->capture_default_str()
      ->check(Between(0, 4096));
  bench
      ->add_option("--max-body-bytes", options->serving.max_body_bytes,
                   "As serve's: the plan counts a body per HTTP connection")
      ->capture_default_str()
      ->check(Between(1024, 1 << 30));
  bench
      ->add_option("--lengths", options->lengths,
                   "Prompt lengths in tokens, run one at a time (capped at the context)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(AtLeast(1));
  bench->add_option("-n,--max-tokens", options->max_tokens, "Tokens generated per request")
      ->capture_default_str()
      ->check(Between(1, 1 << 20));
  bench->add_option("--rounds", options->rounds, "Rounds of concurrent requests")
      ->capture_default_str()
      ->check(AtLeast(0));
  bench
      ->add_option("--concurrent-prompt", options->concurrent_prompt_tokens,
                   "Prompt tokens of each concurrent request")
      ->capture_default_str()
      ->check(AtLeast(1));
  bench->add_flag("--json", options->json, "Print one JSON object");
  AddVerboseFlag(*bench, options->verbose);
  bench->callback([options, &exit_code] {
    options->model_path = ResolveModel(options->model);
    exit_code = Bench(*options);
  });
}

}  // namespace snug::cli
