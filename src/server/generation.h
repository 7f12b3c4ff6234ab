// Drives the engine requests behind one HTTP request: submit them (one per prompt, each with n
// choices), then either collect every event (a JSON response) or stream them as SSE through an
// endpoint's formatter. Holds only the handles and the formatting cursor; the requests
// themselves live in the engine.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/context.h"
#include "server/http_types.h"
#include "server/request_record.h"

namespace snug::server {

using Handles = std::vector<std::unique_ptr<RequestHandle>>;

// Queues every request; a failure cancels those already queued. `prompt_param` is the field a
// context error points at ("messages", "prompt").
ApiResult<Handles> SubmitAll(Engine& engine, std::vector<Request> requests,
                             std::string_view prompt_param, RequestRecord& record);

struct CollectedToolCall {
  std::string id, name, arguments;
};

struct CollectedChoice {
  std::string text;
  std::string reasoning;  // Request::reasoning_format only
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;                          // [tokens] when requested
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // [tokens] when requested
  std::vector<CollectedToolCall> tool_calls;            // Request::tool_format only
  FinishReason finish = FinishReason::kLength;
};

struct Collected {
  std::vector<CollectedChoice> choices;  // [requests × n], request-major
  Usage usage;
  BodyReservation held;  // of the response budget, until the answer is built and sent
};

// What a delta costs a non-streamed answer until it is sent, an estimate on the safe side:
// its text three times (collected, in the JSON document, serialized; JSON-escaped), 4 bytes per
// token id, and per logprob and per alternative an entry of the document (an object with the
// token's text, its logprob and its bytes: kLogprobEntryBytes).
inline constexpr size_t kLogprobEntryBytes = 256;
size_t ResponseHeldBytes(const events::Delta& delta);

// Waits for every event of every handle. An engine error, the request timeout or the client
// hanging up (`client.ClientHungUp()`, checked at every event and every 200 ms) cancels the rest
// and becomes the ApiError. What the answer holds grows a reservation of `response_budget`; an
// answer larger than the whole budget is cancelled with a 400 that says to stream it, one that
// finds the budget spent by other answers with a 429.
ApiResult<Collected> CollectAll(Handles& handles, int n, const ServerOptions& options,
                                RequestRecord& record, const HttpRequest& client,
                                BodyBudget& response_budget);

// What one endpoint sends for the events of a stream; each call appends chunks to `out`.
class StreamFormatter {
 public:
  virtual ~StreamFormatter() = default;
  // Before any event (the chat role chunks).
  virtual void Start(std::vector<nlohmann::json>& out) = 0;
  // Each event of handle `request_index` but Failure and PrefillProgress, which the stream
  // handles itself.
  virtual void OnEvent(int request_index, const Event& event, std::vector<nlohmann::json>& out) = 0;
  // After the last handle's kDone (the usage chunk).
  virtual void End(std::vector<nlohmann::json>& out) = 0;
};

// Turns `response` into a text/event-stream fed from `handles` (HttpResponse::stream). If the
// client goes away (a write fails) every handle is cancelled; the record finishes with the last
// byte.
void StreamResponse(HttpResponse& response, Handles handles,
                    std::unique_ptr<StreamFormatter> formatter,
                    std::shared_ptr<RequestRecord> record, const ServerOptions& options);

// OpenAI's names: "stop", "length", "tool_calls".
const char* FinishReasonName(FinishReason reason);

// The choice an event belongs to (nullopt: the whole request).
std::optional<int> EventChoice(const Event& event);

}  // namespace snug::server
