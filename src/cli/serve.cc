// `snug serve MODEL`: the OpenAI-compatible HTTP server. Plans memory first (from the file's
// metadata) and refuses to start, printing the plan, when one sequence of --min-ctx does not fit;
// then listens (health says 503 while the model loads), loads the model, starts the engine to
// the plan, serves until SIGTERM/SIGINT, then drains: refuses new work, lets running requests
// finish within the grace period, exits 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/log_event.h"
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/flags.h"
#include "cli/planned_engine.h"
#include "cli/serve_flags.h"
#include "cli/web_assets.h"
#include "engine/chat.h"
#include "engine/engine.h"
#include "media/image.h"
#include "memory/size.h"
#include "models/hf_import.h"
#include "server/context.h"
#include "server/http_server.h"

namespace snug::cli {

struct ServeOptions {
  ModelArgument model;
  std::string model_path;  // resolved from `model`
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::string api_key_file;
  std::vector<std::string> cors_origins;
  std::vector<std::string> allowed_hosts;  // --allow-host
  PlanFlags plan;          // --memory, --ctx, --min-ctx, --parallel, --kv-type, -t, ...
  ServingFigures serving;  // --max-queue, --max-body-bytes
  int request_timeout_seconds = 600;
  int shutdown_grace_seconds = 10;
  std::vector<std::string> aliases;  // more names for the model in /v1/models
  int max_tokens_default = 0;        // a request without max_tokens gets this; 0: OpenAI's rule
  std::string log_format = "text";
  std::string log_file;             // empty: stderr
  std::string log_max_size = "16MiB";
  bool no_web = false;
  bool verbose = false;
  std::vector<std::string> media_url_hosts;  // --allow-media-urls
  int image_tokens_high = 280;               // --image-tokens-high
  int64_t max_image_pixels = media::ImageLimits().max_pixels;
  std::string media_budget = "256MiB";       // --media-budget
};

namespace {

// --api-key, else --api-key-file (first line), else $SNUG_API_KEY; empty: no key.
Result<std::string> ResolveApiKey(const ServeOptions& options) {
  if (!options.api_key.empty()) return options.api_key;
  if (!options.api_key_file.empty()) {
    std::ifstream file(options.api_key_file);
    std::string key;
    if (!file || !std::getline(file, key)) {
      return NotFound("serve: cannot read an API key from '" + options.api_key_file + "'");
    }
    key.erase(key.find_last_not_of(" \t\r\n") + 1);
    key.erase(0, key.find_first_not_of(" \t"));
    if (key.empty()) return InvalidArgument("serve: '" + options.api_key_file + "' is empty");
    return key;
  }
  const char* env = std::getenv("SNUG_API_KEY");
  return std::string(env != nullptr ? env : "");
}

// What the main thread waits for: a signal, or the loader giving up.
class Shutdown {
 public:
  void Request(int exit_code) {
    {
      std::lock_guard lock(mutex_);
      if (requested_) return;
      requested_ = true;
      exit_code_ = exit_code;
    }
    wake_.notify_all();
  }
  int Wait() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return requested_; });
    return exit_code_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  int exit_code_ = 0;
};

int Serve(ServeOptions options) {
  // Signals are taken by one thread with sigwait, so every thread started from here on must
  // have them blocked; SIGPIPE (a client gone) must never end the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (options.log_format == "json") SetLogFormat(LogFormat::kJson);
  if (!options.log_file.empty()) {
    auto max_bytes = memory::ParseSize(options.log_max_size);
    Status logging = max_bytes.ok() ? LogToFile(options.log_file, *max_bytes, 3) : max_bytes.status();
    if (!logging.ok()) {
      std::fprintf(stderr, "snug serve: %s\n", logging.message().c_str());
      return 1;
    }
  }

  auto api_key = ResolveApiKey(options);
  if (!api_key.ok()) {
    std::fprintf(stderr, "snug serve: %s\n", api_key.status().message().c_str());
    return 1;
  }
  if (api_key->empty() && options.host != "127.0.0.1" && options.host != "localhost" &&
      options.host != "::1") {
    LOG(WARNING) << "serve: listening on " << options.host
                 << " without an API key: anyone who can reach this port can use the model "
                    "(set --api-key, --api-key-file or SNUG_API_KEY)";
  }

  auto media_budget = memory::ParseSize(options.media_budget);
  if (!media_budget.ok()) {
    std::fprintf(stderr, "snug serve: --media-budget: %s\n", media_budget.status().message().c_str());
    return 2;
  }
  options.serving.media_bytes = MediaBytes(*media_budget, options.max_image_pixels);
  // An image sent with detail "high" must fit the plan's largest image block.
  if (options.image_tokens_high > options.plan.max_image_tokens) {
    LOG(INFO) << "serve: --max-image-tokens raised from " << options.plan.max_image_tokens
              << " to --image-tokens-high " << options.image_tokens_high;
    options.plan.max_image_tokens = options.image_tokens_high;
  }
  // The plan comes first: it reads only metadata, and a model that cannot fit must not start
  // (what a user would otherwise learn by crashing).
  auto planned = PlanModel(options.model_path, options.plan, options.serving);
  if (!planned.ok()) {
    std::fprintf(stderr, "snug serve: %s\n", planned.status().message().c_str());
    return 1;
  }
  const memory::MemoryPlan& plan = planned->plan;
  if (!plan.fits) {
    std::fprintf(stderr, "snug serve: refusing to start: the memory plan %s\n\n%s",
                 plan.verdict.c_str(), FormatPlanReport(*planned).c_str());
    return 1;
  }
  if (LogIsJson()) {
    LOG_EVENT(INFO, "plan",
              {{"sequences", plan.sequences},
               {"context_tokens", plan.context_tokens},
               {"total_bytes", plan.total_bytes},
               {"budget_bytes", plan.budget.bytes},
               {"budget_source", plan.budget.source},
               {"headroom_bytes", plan.headroom_bytes},
               {"weight_bytes", plan.weight_bytes + plan.repacked_bytes},
               {"kv_type", std::string(KvTypeName(plan.kv_type))},
               {"kv_bytes", plan.kv_bytes},
               {"activation_bytes", plan.activations.total()},
               {"logits_bytes", plan.logits_bytes},
               {"overhead_bytes", plan.overheads.total()},
               {"batch_tokens", plan.batch_tokens}});
  } else {
    LOG(INFO) << "serve: " << PlanSummaryLine(plan);
  }
  for (const std::string& note : plan.notes) LOG(INFO) << "serve: plan: " << note;

  server::ServerOptions server_options;
  server_options.api_key = *api_key;
  server_options.cors_origins = options.cors_origins;
  server_options.allowed_hosts = options.allowed_hosts;
  server_options.max_connections = planned->options.http_max_connections;
  server_options.body_budget_bytes = static_cast<size_t>(memory::HttpBodyBudgetBytes(
      planned->options.http_connections, planned->options.max_body_bytes,
      planned->options.http_body_budget_bytes));
  server_options.response_budget_bytes =
      static_cast<size_t>(planned->options.http_response_budget_bytes);
  server_options.max_body_bytes = static_cast<size_t>(options.serving.max_body_bytes);
  server_options.request_timeout_seconds = options.request_timeout_seconds;
  // Every running or queued request holds a connection thread while it waits for events; a few
  // more answer probes, metrics and refusals (429) at once. The plan counted their buffers.
  server_options.http_threads = HttpConnections(plan.sequences, options.serving);
  server_options.plan_metrics = PlanMetrics(plan);
  if (!options.no_web) server_options.web_assets = WebAssets();
  server_options.media.url_hosts = options.media_url_hosts;
  server_options.media.high_detail_tokens = options.image_tokens_high;
  server_options.media.image_limits.max_pixels = options.max_image_pixels;
  server_options.media.held_bytes = static_cast<size_t>(*media_budget);
  server::ServerContext context(server_options);
  server::HttpServer http(context);
  auto port = http.Bind(options.host, options.port);
  if (!port.ok()) {
    std::fprintf(stderr, "snug serve: %s\n", port.status().message().c_str());
    return 1;
  }
  std::thread http_thread([&http] { http.Serve(); });
  LOG(INFO) << "serve: listening on http://" << options.host << ":" << *port << " (loading "
            << options.model_path << ")";

  Shutdown shutdown;
  std::atomic<bool> load_failed{false};
  std::thread signal_thread([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    LOG(INFO) << "serve: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ": shutting down";
    // Nothing runs while the model loads: leave at once rather than wait for the load (with 1
    // if the load has already failed: a supervisor must see the failure).
    if (context.state() == server::ServerState::kLoading) std::_Exit(load_failed ? 1 : 0);
    shutdown.Request(0);
  });
  signal_thread.detach();  // blocked in sigwait until the process ends

  // The model's forward passes run on the pool: it outlives the engine.
  ThreadPool pool(planned->options.threads);
  std::unique_ptr<Engine> engine;
  {
    auto started =
        StartPlannedEngine(options.model_path, *planned, options.serving.max_queue, pool);
    if (!started.ok()) {
      PrintError("serve", started.status(), options.verbose);
      load_failed = true;
      http.Stop();  // closes every connection at once: nothing keeps the process listening
      http_thread.join();
      return 1;
    }
    engine = std::move(started->engine);
    Result<tokenizer::ChatFormat> chat_format = ChatFormatFor(planned->facts.spec);
    if (!chat_format.ok()) {
      LOG(WARNING) << "serve: /v1/chat/completions is unavailable: "
                   << chat_format.status().message();
    }
    const std::string id = ModelId(options.model_path);
    context.SetModel({.engine = engine.get(),
                      .tokenizer = std::move(started->tokenizer),
                      .chat_format = std::move(chat_format),
                      .id = id,
                      .aliases = options.aliases,
                      .max_tokens_default = options.max_tokens_default});
    LOG(INFO) << "serve: ready: model '" << id << "', " << plan.sequences << " sequences of "
              << plan.context_tokens << " tokens, queue " << options.serving.max_queue;
  }

  const int exit_code = shutdown.Wait();
  // Drain: new work gets 503; running requests finish within the grace period (the engine
  // cancels the rest), their responses are written out, then the listener closes.
  context.SetDraining();
  engine->Shutdown(options.shutdown_grace_seconds * 1000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (context.metrics().in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  http.Stop();
  http_thread.join();
  engine.reset();
  LOG(INFO) << "serve: stopped";
  return exit_code;
}

}  // namespace

std::shared_ptr<ServeOptions> AddServeFlags(CLI::App& serve_command) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = &serve_command;
  // The model may also come from the config file (`model = "..."`): ResolveModel runs in the
  // callback, after the file.
  AddModelArgument(*serve, options->model);
  serve->add_option("--host", options->host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  serve->add_option("--port", options->port, "Port")
      ->capture_default_str()
      ->check(Between(0, 65535));
  serve->add_option("--api-key", options->api_key,
                    "Require 'Authorization: Bearer KEY' (health endpoints stay open)");
  serve->add_option("--api-key-file", options->api_key_file, "Read the API key from a file")
      ->check(CLI::ExistingFile);
  serve->add_option("--cors-origin", options->cors_origins,
                    "Allow browser requests from this origin (repeatable; * for any)");
  serve->add_option("--allow-host", options->allowed_hosts,
                    "Without an API key, also answer requests whose Host is NAME (besides IP "
                    "addresses and localhost; repeatable)");
  serve
      ->add_option("--max-body-bytes", options->serving.max_body_bytes,
                   "Larger request bodies get 413")
      ->capture_default_str()
      ->check(Between(1024, 1 << 30));
  serve
      ->add_option("--max-queue", options->serving.max_queue,
                   "Requests waiting for a slot; more get 429 + Retry-After")
      ->capture_default_str()
      ->check(Between(0, 4096));
  AddPlanFlags(*serve, options->plan);
  serve
      ->add_option("--request-timeout", options->request_timeout_seconds,
                   "Seconds a request may take before it is cancelled (0 = no limit)")
      ->capture_default_str()
      ->check(AtLeast(0, "0 = no limit"));
  serve
      ->add_option("--shutdown-grace", options->shutdown_grace_seconds,
                   "Seconds running requests get to finish on SIGTERM/SIGINT")
      ->capture_default_str()
      ->check(AtLeast(0));
  serve->add_option("--alias", options->aliases,
                    "Another name for the model in /v1/models (repeatable; requests may name "
                    "any model: this one answers)");
  serve
      ->add_option("--max-tokens-default", options->max_tokens_default,
                   "Tokens a request without max_tokens may generate (default: the rest of "
                   "the context for chat, 16 for completions, as OpenAI)")
      ->check(Between(1, 1 << 24));
  serve->add_flag("--no-web", options->no_web, "No chat and status page at /");
  serve
      ->add_option("--allow-media-urls", options->media_url_hosts,
                   "Fetch http(s) image URLs from these hosts (HOST or HOST:PORT, repeatable or "
                   "comma-separated; default: image URLs are refused, data: URLs only)")
      ->delimiter(',');
  serve
      ->add_option("--image-tokens-high", options->image_tokens_high,
                   "Soft tokens of an image sent with detail 'high' (low: 70, auto: 280); "
                   "--max-image-tokens is raised to it")
      ->capture_default_str()
      ->check(CLI::IsMember({280, 560, 1120}));
  serve
      ->add_option("--max-image-pixels", options->max_image_pixels,
                   "Larger images (width × height, read from the header) are refused before "
                   "decoding")
      ->capture_default_str()
      ->check(Between(1, int64_t{1} << 30));
  serve
      ->add_option("--media-budget", options->media_budget,
                   "Decoded images and audio all requests may hold at once (a 280-token image "
                   "is 7.7 MB); beyond it: 429")
      ->capture_default_str()
      ->check(SizeWithUnit());
  AddVerboseFlag(*serve, options->verbose);
  serve
      ->add_option("--log-format", options->log_format,
                   "text, or json: one JSON object a line (requests, the plan) for log shippers")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  serve->add_option("--log-file", options->log_file,
                    "Write the log to this file instead of stderr, rotated by size (3 kept)");
  serve->add_option("--log-max-size", options->log_max_size, "Rotate the --log-file at this size")
      ->capture_default_str()
      ->check(SizeWithUnit());
  return options;
}

void AddServeCommand(CLI::App& app, int& exit_code) {
  CLI::App* serve = app.add_subcommand("serve", "Serve a model over the OpenAI HTTP API");
  std::shared_ptr<ServeOptions> options = AddServeFlags(*serve);
  std::shared_ptr<CommandConfig> config = CommandConfig::Attach(*serve);
  serve->callback([options, config, &exit_code] {
    if (Status applied = config->Apply(); !applied.ok()) {
      std::fprintf(stderr, "snug serve: %s\n", applied.message().c_str());
      exit_code = 2;
      return;
    }
    if (config->print_requested()) {
      std::fputs(config->Render(/*defaults=*/true).c_str(), stdout);
      exit_code = 0;
      return;
    }
    options->model_path = ResolveModel(options->model);  // CLI11 errors: exit 2 with usage
    exit_code = Serve(*options);
  });
}

}  // namespace snug::cli
