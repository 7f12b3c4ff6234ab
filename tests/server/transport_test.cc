// The transport's bounds over real sockets (issue 14 items 1–6): everything here is refused or
// bounded before a handler or auth runs, and no idle, slow or never-reading client keeps the
// server from answering others. Raw sockets, because well-behaved clients cannot send these.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fake_engine.h"
#include "server/context.h"
#include "server/http_server.h"

namespace snug::server {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using testing::FakeEngine;

class Socket {
 public:
  // `receive_buffer_bytes` > 0: a small window, set before connecting (a client that stalls).
  explicit Socket(int port, int receive_buffer_bytes = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer_bytes > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Socket() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until `done(received)` or the peer closes or `timeout` passes.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    char buffer[65536];
    while (!done(received_) && Clock::now() < deadline) {
      pollfd entry{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&entry, 1, 20) <= 0) continue;
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buffer, static_cast<size_t>(n));
    }
    return received_;
  }
  // One whole response (Content-Length or chunked) off the front of what was received.
  std::string Response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string response;
    ReadUntil([&](const std::string& bytes) { return TakeResponse(bytes, &response); }, timeout);
    if (!response.empty()) received_.erase(0, response.size());
    return response;
  }
  bool closed() const { return closed_; }

  static bool TakeResponse(const std::string& bytes, std::string* out) {
    const size_t head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const std::string head = bytes.substr(0, head_end);
    size_t end;
    if (const size_t at = head.find("Content-Length: "); at != std::string::npos) {
      end = head_end + 4 + std::stoul(head.substr(at + 16));
      if (bytes.size() < end) return false;
    } else if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
      const size_t last = bytes.find("\r\n0\r\n\r\n", head_end);
      if (last == std::string::npos) return false;
      end = last + 7;
    } else {
      end = head_end + 4;
    }
    *out = bytes.substr(0, end);
    return true;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

int StatusOf(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string Get(const std::string& path, const std::string& host = "127.0.0.1") {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

std::string Post(const std::string& path, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class TransportTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    options.keep_alive_ms = 50;
    context_ = std::make_unique<ServerContext>(options);
    http_ = std::make_unique<HttpServer>(*context_);
    auto port = http_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { http_->Serve(); });
    context_->SetModel({.engine = &engine_,
                        .tokenizer = testing::TestTokenizer(),
                        .chat_format = tokenizer::ChatFormat::kGemma3,
                        .id = "tiny"});
  }
  void TearDown() override {
    if (http_) http_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  // /healthz answers, on a fresh connection, within `limit`.
  void ExpectHealthyWithin(std::chrono::milliseconds limit) {
    const auto started = Clock::now();
    Socket probe(port_);
    ASSERT_TRUE(probe.connected());
    ASSERT_TRUE(probe.Send(Get("/healthz")));
    EXPECT_EQ(StatusOf(probe.Response(limit)), 200);
    EXPECT_LT(Clock::now() - started, limit);
  }
  std::string Chat(bool stream = false) {
    return json{{"model", "tiny"},
                {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                {"stream", stream}}
        .dump();
  }

  FakeEngine engine_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

// Item 1: 4M tiny headers once raised RSS by 630 MB; now the head is cut at 16 KiB.
TEST_F(TransportTest, OversizedHeadersAre431BeforeAuth) {
  ServerOptions options;
  options.api_key = "K";
  Start(options);
  Socket client(port_);
  std::string flood = "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 20000; ++i) flood += "a: b\r\n";
  client.Send(flood);  // the server may close before all of it is sent
  EXPECT_EQ(StatusOf(client.Response()), 431);
  Socket many(port_);
  std::string count = "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 100; ++i) {
    count += 'x';
    count += std::to_string(i);
    count += ": y\r\n";
  }
  many.Send(count + "\r\n");
  EXPECT_EQ(StatusOf(many.Response()), 431);
}

TEST_F(TransportTest, HugeRequestLineIs414) {
  Start();
  Socket client(port_);
  client.Send("GET /" + std::string(100 << 10, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(StatusOf(client.Response()), 414);
  ExpectHealthyWithin(std::chrono::seconds(1));
}

// Item 2: slow-header clients and idle keep-alive connections hold no worker.
TEST_F(TransportTest, SlowAndIdleClientsDoNotStarveOthers) {
  ServerOptions options;
  options.http_threads = 4;
  options.header_timeout_ms = 1500;
  Start(options);
  std::vector<std::unique_ptr<Socket>> slow, idle;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<Socket>(port_));
    slow.back()->Send("GET /healthz HTTP/1.1\r\n");  // and never the rest
  }
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<Socket>(port_));
    ASSERT_TRUE(idle.back()->connected());
  }
  for (int i = 0; i < 3; ++i) ExpectHealthyWithin(std::chrono::seconds(1));
  // The header deadline holds for the whole head, however slowly it trickles in.
  const auto started = Clock::now();
  for (int i = 0; i < 10; ++i) {
    slow[0]->Send("X");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (slow[0]->closed()) break;
  }
  const std::string answer = slow[0]->Response(std::chrono::seconds(3));
  EXPECT_EQ(StatusOf(answer), 408) << answer;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(4));
}

// Item 3: a body's encoding cannot multiply it past --max-body-bytes; chunked is counted decoded.
TEST_F(TransportTest, EncodedAndChunkedBodiesAreBounded) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  Start(options);
  Socket gzip(port_);
  gzip.Send(Post("/v1/chat/completions", "\x1f\x8b", "Content-Encoding: gzip\r\n"));
  EXPECT_EQ(StatusOf(gzip.Response()), 415);
  Socket chunked(port_);
  std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
      "\r\n";
  const std::string piece(16 << 10, 'a');
  chunked.Send(request);
  for (int i = 0; i < 8; ++i) {
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    if (!chunked.Send(size + piece + "\r\n")) break;
  }
  EXPECT_EQ(StatusOf(chunked.Response()), 413);
  // In-limit chunked bodies are served.
  Socket small(port_);
  const std::string body = Chat();
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", body.size());
  small.Send(request + size + body + "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(small.Response()), 200);
}

// Item 4: no SO_REUSEPORT; the second bind fails and names the port.
TEST_F(TransportTest, ASecondServerCannotShareThePort) {
  Start();
  ServerContext other_context({});
  HttpServer other(other_context);
  auto bound = other.Bind("127.0.0.1", port_);
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.status().message().find(std::to_string(port_)), std::string::npos)
      << bound.status().message();
}

// Item 5: every pipelined request is answered, in order; ambiguous framing is 400.
TEST_F(TransportTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  Socket client(port_);
  std::string burst;
  std::vector<std::string> paths;
  for (int i = 0; i < 7; ++i) {
    std::string path = "/healthz";
    if (i % 2 == 1) {
      path = "/nothing";
      path += std::to_string(i);
    }
    paths.push_back(path);
    burst += Get(path);
  }
  ASSERT_TRUE(client.Send(burst));
  for (int i = 0; i < 7; ++i) {
    const std::string response = client.Response();
    EXPECT_EQ(StatusOf(response), i % 2 == 0 ? 200 : 404) << i << ": " << response;
    if (i % 2 == 1) {
      EXPECT_NE(response.find(paths[i]), std::string::npos) << response;
    }
  }
}

TEST_F(TransportTest, AmbiguousFramingIs400) {
  Start();
  Socket two(port_);
  two.Send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
           "Content-Length: 50\r\n\r\nhello");
  EXPECT_EQ(StatusOf(two.Response()), 400);
  Socket both(port_);
  both.Send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(both.Response()), 400);
  Socket folded(port_);
  folded.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n b\r\n\r\n");
  EXPECT_EQ(StatusOf(folded.Response()), 400);
}

// Item 6: a key-less server answers only its own names (DNS rebinding, cross-site posts).
TEST_F(TransportTest, KeylessServerChecksHostAndOrigin) {
  ServerOptions options;
  options.allowed_hosts = {"snug.lan"};
  Start(options);
  const auto status = [&](const std::string& host, const std::string& origin = "") {
    Socket client(port_);
    client.Send("GET /v1/models HTTP/1.1\r\nHost: " + host + "\r\n" +
                (origin.empty() ? "" : "Origin: " + origin + "\r\n") + "\r\n");
    return StatusOf(client.Response());
  };
  EXPECT_EQ(status("127.0.0.1:" + std::to_string(port_)), 200);
  EXPECT_EQ(status("localhost"), 200);
  EXPECT_EQ(status("[::1]:8080"), 200);
  EXPECT_EQ(status("snug.lan:8080"), 200);
  EXPECT_EQ(status("evil.example"), 403);
  EXPECT_EQ(status("127.0.0.1", "http://evil.example"), 403);
  EXPECT_EQ(status("127.0.0.1:9", "http://127.0.0.1:9"), 200);  // the server's own page
  // Probes stay open, whatever the Host.
  Socket probe(port_);
  probe.Send(Get("/healthz", "evil.example"));
  EXPECT_EQ(StatusOf(probe.Response()), 200);
}

TEST_F(TransportTest, WithAKeyAnyHostIsAnswered) {
  ServerOptions options;
  options.api_key = "K";
  Start(options);
  Socket client(port_);
  client.Send("GET /v1/models HTTP/1.1\r\nHost: snug.example\r\nAuthorization: Bearer K\r\n\r\n");
  EXPECT_EQ(StatusOf(client.Response()), 200);
}

// Issue 9 item 4: all bodies at once draw from one budget: 64 clients posting 2 MiB get
// 200/413/429, never more than the budget held.
TEST_F(TransportTest, BodiesDrawFromOneBudget) {
  ServerOptions options;
  options.max_body_bytes = 4 << 20;
  options.body_budget_bytes = 8 << 20;
  options.http_threads = 8;
  Start(options);
  std::string body = Chat();
  body.pop_back();  // '}'
  body += ",\"padding\":\"";
  body.append((2 << 20) - body.size() - 2, 'a');
  body += "\"}";
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, limited{0}, other{0};
  for (int i = 0; i < 64; ++i) {
    clients.emplace_back([&] {
      Socket client(port_);
      client.Send(Post("/v1/chat/completions", body));
      const int code = StatusOf(client.Response(std::chrono::seconds(20)));
      if (code == 200) {
        ++ok;
      } else if (code == 429 || code == 413) {
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + limited.load(), 64);
}

// A client that never reads its stream: the server drops it after the write stall, the
// request is cancelled, and everyone else is answered meanwhile.
TEST_F(TransportTest, AReaderThatNeverReadsIsDropped) {
  ServerOptions options;
  options.write_stall_ms = 1000;
  Start(options);
  engine_.endless = true;
  Socket stuck(port_, /*receive_buffer_bytes=*/2048);
  stuck.Send(Post("/v1/chat/completions", Chat(/*stream=*/true)));
  ExpectHealthyWithin(std::chrono::seconds(1));
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (engine_.cancels.load() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(engine_.cancels.load(), 1);
  ExpectHealthyWithin(std::chrono::seconds(1));
}

}  // namespace
}  // namespace snug::server
