// One client connection of the HTTP transport (http_server.cc), shared by the event thread and
// the worker answering its current request, and the worker's half: writing an answer (whole or
// streamed) into the connection's output with backpressure. The worker never touches the
// socket: it appends bytes under the connection's mutex and the event thread writes them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/api_error.h"
#include "server/body_budget.h"
#include "server/http_parser.h"
#include "server/http_types.h"

namespace snug::server {

enum class Phase {
  kHead,      // waiting for (the rest of) a request head; idle between requests
  kBody,      // reading the body
  kHandling,  // a worker runs the request; the socket is watched for hang-ups only
  kWriting,   // a refusal from the event thread is being written, then the connection closes
  kLingering,  // after a refusal: our side is shut, what the client still sends is discarded
               // for a moment, so it reads the refusal instead of a reset
};

struct Connection {
  using Clock = std::chrono::steady_clock;

  // Event thread only.
  int fd = -1;
  uint64_t id = 0;
  std::string remote_address;
  Phase phase = Phase::kHead;
  Clock::time_point phase_started = Clock::now();
  Clock::time_point deadline;  // of the head, the body, or the idle wait
  bool started = false;        // a byte of the current request head has arrived
  std::string input;           // read, not yet framed; pipelined requests wait here
  RequestHead head;
  ChunkedDecoder decoder{0};
  std::string body;
  BodyReservation reservation;

  // Shared with the worker.
  std::atomic<bool> gone{false};  // closed: the worker stops and its request is cancelled
  std::mutex mutex;
  std::condition_variable room;  // signalled as output drains (and when gone)
  std::string output;            // under mutex: bytes to send, from `written` on
  size_t written = 0;
  bool answer_complete = false;  // the worker wrote the whole answer
  bool close_after = false;
  Clock::time_point last_write = Clock::now();
};

// A complete request handed to a worker.
struct Exchange {
  std::shared_ptr<Connection> connection;
  HttpRequest request;
  bool keep_alive = true;
  BodyReservation reservation;  // the body's share of the budget, given back once handled
};

// Status line and headers; `body_bytes` < 0: chunked.
std::string SerializeHead(const HttpResponse& response, int64_t body_bytes, bool keep_alive);

// Writes `response` into the connection's output: a whole body at once, or a stream piece by
// piece, waiting while more than a bounded amount is unsent (a client that stops reading is
// dropped by the event thread after `stall`, which ends the stream). `flush` asks the event
// thread to write. Closes the stream.
void WriteAnswer(Connection& connection, HttpResponse& response, bool keep_alive,
                 std::chrono::milliseconds stall, const std::function<void()>& flush);

// 429: the bodies of the requests in progress hold the whole body budget now.
ApiError BodyBudgetSpent();

}  // namespace snug::server
