#include "server/http_connection.h"

namespace snug::server {
namespace {

// Unsent bytes a streaming worker may queue before it waits for the client to read.
constexpr size_t kMaxUnsentBytes = 256 << 10;

std::string Hex(size_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%zx", value);
  return text;
}

}  // namespace

std::string SerializeHead(const HttpResponse& response, int64_t body_bytes, bool keep_alive) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     ReasonPhrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (HeaderNameEquals(name, "Content-Length") || HeaderNameEquals(name, "Connection") ||
        HeaderNameEquals(name, "Transfer-Encoding")) {
      continue;  // framing is the transport's
    }
    head += name + ": " + value + "\r\n";
  }
  if (body_bytes < 0) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (response.status != 204 && response.status >= 200) {
    head += "Content-Length: " + std::to_string(body_bytes) + "\r\n";
  }
  if (!keep_alive) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

// Appends under the connection's mutex; the stall clock starts when output stops being empty.
void Append(Connection& connection, const std::string& bytes) {
  if (connection.output.size() == connection.written) {
    connection.last_write = Connection::Clock::now();
  }
  connection.output += bytes;
}

void WriteAnswer(Connection& connection, HttpResponse& response, bool keep_alive,
                 std::chrono::milliseconds stall, const std::function<void()>& flush) {
  if (response.stream == nullptr) {
    {
      std::lock_guard lock(connection.mutex);
      Append(connection, SerializeHead(response, static_cast<int64_t>(response.body.size()),
                                       keep_alive));
      connection.output += response.body;
      connection.answer_complete = true;
      connection.close_after = !keep_alive;
    }
    flush();
    return;
  }
  ResponseStream& stream = *response.stream;
  {
    std::lock_guard lock(connection.mutex);
    Append(connection, SerializeHead(response, -1, keep_alive));
  }
  flush();
  bool complete = false;
  while (!complete && !connection.gone) {
    std::string piece;
    complete = stream.Next(piece);
    {
      std::unique_lock lock(connection.mutex);
      if (!piece.empty()) {
        Append(connection, Hex(piece.size()) + "\r\n");
        connection.output += piece;
        connection.output += "\r\n";
      }
      if (complete) {
        Append(connection, "0\r\n\r\n");
        connection.answer_complete = true;
        connection.close_after = !keep_alive;
      }
    }
    flush();
    // Backpressure: wait for the client to read; the event thread drops it after `stall`.
    std::unique_lock lock(connection.mutex);
    connection.room.wait_for(lock, stall + std::chrono::seconds(1), [&] {
      return connection.gone || connection.output.size() - connection.written <= kMaxUnsentBytes;
    });
  }
  stream.Close(complete && !connection.gone);
}

ApiError BodyBudgetSpent() {
  return ApiError{.http_status = 429,
                  .type = "rate_limit_error",
                  .code = "rate_limit_exceeded",
                  .message = "server: the request bodies in progress hold all the memory set "
                             "aside for them; retry shortly",
                  .retry_after_seconds = 1};
}

}  // namespace snug::server
