// `snug serve MODEL`: the OpenAI-compatible HTTP server. Plans memory first (from the file's
// metadata) and refuses to start, printing the plan, when one sequence of --min-ctx does not fit;
// then listens (health says 503 while the model loads), loads the model, starts the engine to
// the plan, serves until SIGTERM/SIGINT, then drains: refuses new work, lets running requests
// finish within the grace period, exits 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
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
#include "base/thread_pool.h"
#include "cli/commands.h"
#include "cli/planned_engine.h"
#include "engine/chat.h"
#include "engine/engine.h"
#include "server/context.h"
#include "server/http_server.h"

namespace snug::cli {
namespace {

struct ServeOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::string api_key_file;
  std::vector<std::string> cors_origins;
  PlanFlags plan;          // --memory, --ctx, --min-ctx, --parallel, --kv-type, -t, ...
  ServingFigures serving;  // --max-queue, --max-body-bytes
  int request_timeout_seconds = 600;
  int shutdown_grace_seconds = 10;
};

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

int Serve(const ServeOptions& options) {
  // Signals are taken by one thread with sigwait, so every thread started from here on must
  // have them blocked; SIGPIPE (a client gone) must never end the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

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
  LOG(INFO) << "serve: " << PlanSummaryLine(plan);
  for (const std::string& note : plan.notes) LOG(INFO) << "serve: plan: " << note;

  server::ServerOptions server_options;
  server_options.api_key = *api_key;
  server_options.cors_origins = options.cors_origins;
  server_options.max_body_bytes = static_cast<size_t>(options.serving.max_body_bytes);
  server_options.request_timeout_seconds = options.request_timeout_seconds;
  // Every running or queued request holds a connection thread while it waits for events; a few
  // more answer probes, metrics and refusals (429) at once. The plan counted their buffers.
  server_options.http_threads = HttpConnections(plan.sequences, options.serving);
  server_options.plan_metrics = PlanMetrics(plan);
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
  std::thread signal_thread([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    LOG(INFO) << "serve: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ": shutting down";
    // Nothing runs while the model loads: leave at once rather than wait for the load.
    if (context.state() == server::ServerState::kLoading) std::_Exit(0);
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
      std::fprintf(stderr, "snug serve: %s\n", started.status().message().c_str());
      http.Stop();
      http_thread.join();
      return 1;
    }
    engine = std::move(started->engine);
    Result<tokenizer::ChatFormat> chat_format = ChatFormatFor(planned->facts.spec);
    if (!chat_format.ok()) {
      LOG(WARNING) << "serve: /v1/chat/completions is unavailable: "
                   << chat_format.status().message();
    }
    const std::string id = std::filesystem::path(options.model_path).stem().string();
    context.SetModel({.engine = engine.get(),
                      .tokenizer = std::move(started->tokenizer),
                      .chat_format = std::move(chat_format),
                      .id = id});
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

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Serve a model over the OpenAI HTTP API");
  serve->add_option("MODEL", options->model_path, "GGUF model file")->required();
  serve->add_option("--host", options->host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  serve->add_option("--port", options->port, "Port")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve->add_option("--api-key", options->api_key,
                    "Require 'Authorization: Bearer KEY' (health endpoints stay open)");
  serve->add_option("--api-key-file", options->api_key_file, "Read the API key from a file")
      ->check(CLI::ExistingFile);
  serve->add_option("--cors-origin", options->cors_origins,
                    "Allow browser requests from this origin (repeatable; * for any)");
  serve
      ->add_option("--max-body-bytes", options->serving.max_body_bytes,
                   "Larger request bodies get 413")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 30));
  serve
      ->add_option("--max-queue", options->serving.max_queue,
                   "Requests waiting for a slot; more get 429 + Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  AddPlanFlags(*serve, options->plan);
  serve
      ->add_option("--request-timeout", options->request_timeout_seconds,
                   "Seconds a request may take before it is cancelled (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--shutdown-grace", options->shutdown_grace_seconds,
                   "Seconds running requests get to finish on SIGTERM/SIGINT")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve->callback([options, &exit_code] { exit_code = Serve(*options); });
}

}  // namespace snug::cli
