// Drives the engine requests behind one HTTP request: submit them (one per prompt, each with n
// choices), then either collect every event (a JSON response) or stream them as SSE through an
// endpoint's formatter. Holds only the handles and the formatting cursor; the requests
// themselves live in the engine.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/client_connection.h"
#include "server/context.h"
#include "server/request_record.h"

namespace snug::server {

using Handles = std::vector<std::unique_ptr<RequestHandle>>;

// Queues every request; a failure cancels those already queued. `prompt_param` is the field a
// context error points at ("messages", "prompt").
ApiResult<Handles> SubmitAll(Engine& engine, std::vector<Request> requests,
                             std::string_view prompt_param, RequestRecord& record);

struct CollectedChoice {
  std::string text;
  std::string reasoning;  // Request::reasoning_format only
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;                          // [tokens] when requested
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // [tokens] when requested
  FinishReason finish = FinishReason::kLength;
};

struct Collected {
  std::vector<CollectedChoice> choices;  // [requests × n], request-major
  Usage usage;
};

// Waits for every event of every handle. An engine error, the request timeout or the client
// hanging up (`client`, checked every few hundred milliseconds) cancels the rest and becomes
// the ApiError.
ApiResult<Collected> CollectAll(Handles& handles, int n, const ServerOptions& options,
                                RequestRecord& record, const ClientConnection& client);

// What one endpoint sends for the events of a stream; each call appends chunks to `out`.
class StreamFormatter {
 public:
  virtual ~StreamFormatter() = default;
  // Before any event (the chat role chunks).
  virtual void Start(std::vector<nlohmann::json>& out) = 0;
  // Each event of handle `request_index` (kDelta, kFinish, kDone).
  virtual void OnEvent(int request_index, const Event& event, std::vector<nlohmann::json>& out) = 0;
  // After the last handle's kDone (the usage chunk).
  virtual void End(std::vector<nlohmann::json>& out) = 0;
};

// Turns `response` into a chunked text/event-stream fed from `handles`. If the client goes
// away (a write fails) every handle is cancelled; the record finishes with the last byte.
void StreamResponse(httplib::Response& response, Handles handles,
                    std::unique_ptr<StreamFormatter> formatter,
                    std::shared_ptr<RequestRecord> record, const ServerOptions& options);

// OpenAI's names: "stop", "length".
const char* FinishReasonName(FinishReason reason);

}  // namespace snug::server
