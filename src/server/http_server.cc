#include "server/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "server/body_budget.h"
#include "server/http_connection.h"
#include "server/http_parser.h"
#include "server/router.h"

namespace snug::server {

using Clock = std::chrono::steady_clock;

class HttpServer::Loop {
 public:
  Loop(ServerContext& context)
      : options_(context.options()),
        router_(context),
        budget_(std::max(options_.body_budget_bytes, options_.max_body_bytes)) {
    limits_.max_body_bytes = options_.max_body_bytes;
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(epoll_ >= 0 && wake_ >= 0) << "server: epoll: " << std::strerror(errno);
    epoll_event event{.events = EPOLLIN, .data = {.u64 = kWakeId}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
  }
  ~Loop() {
    if (listen_ >= 0) close(listen_);
    close(wake_);
    close(epoll_);
  }

  Result<int> Bind(const std::string& host, int port);
  void Run();
  void Stop() {
    stopping_ = true;
    Wake();
  }
  int open_connections() const { return open_connections_.load(); }

 private:
  static constexpr uint64_t kListenId = 0;
  static constexpr uint64_t kWakeId = 1;

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(wake_, &one, sizeof(one));
  }
  void Watch(Connection& connection, uint32_t events) {
    epoll_event event{.events = events | EPOLLRDHUP, .data = {.u64 = connection.id}};
    epoll_ctl(epoll_, EPOLL_CTL_MOD, connection.fd, &event);
  }
  void Accept();
  void OnEvent(Connection& connection, uint32_t events);
  void ReadFrom(Connection& connection);
  // Frames what has been read: the head, then the body; dispatches a complete request.
  void Process(Connection& connection);
  void Dispatch(Connection& connection);
  // Answers from the event thread (a refused request) and closes after the answer.
  void Refuse(Connection& connection, const ApiError& error);
  // Writes what the worker queued; finishes the exchange when the answer is complete.
  void Flush(Connection& connection);
  void StartNextRequest(Connection& connection);
  // Closing at once with unread bytes in the socket would send a reset that can destroy the
  // answer before the client reads it; so shut our side and discard input for up to a second.
  void Linger(Connection& connection);
  void Close(Connection& connection);
  void CheckDeadlines();
  void EvictForRoom();
  void WorkerMain();

  const ServerOptions& options_;
  Router router_;
  BodyBudget budget_;
  HttpLimits limits_;
  int epoll_ = -1, wake_ = -1, listen_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_connections_{0};
  uint64_t next_id_ = 2;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;  // event thread only

  // Work for the pool: complete requests; and connections whose answers have new bytes.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<std::unique_ptr<Exchange>> jobs_;
  std::vector<std::shared_ptr<Connection>> flush_;
  bool workers_stop_ = false;
};

Result<int> HttpServer::Loop::Bind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int error = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0) {
    return Unavailable("server: cannot listen on " + host + ":" + service + ": " +
                       gai_strerror(error));
  }
  std::string why = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          address->ai_protocol);
    if (fd < 0) continue;
    // SO_REUSEADDR lets a restarted server bind past TIME_WAIT; never SO_REUSEPORT, which would
    // let two servers share (and split) one port.
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, address->ai_addr, address->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      sockaddr_storage bound{};
      socklen_t length = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
      const int bound_port = ntohs(bound.ss_family == AF_INET6
                                       ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                       : reinterpret_cast<sockaddr_in&>(bound).sin_port);
      freeaddrinfo(found);
      listen_ = fd;
      epoll_event event{.events = EPOLLIN, .data = {.u64 = kListenId}};
      epoll_ctl(epoll_, EPOLL_CTL_ADD, listen_, &event);
      return bound_port;
    }
    why = errno == EADDRINUSE ? "the port is in use (another snug, or another server?)"
                              : std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return Unavailable("server: cannot listen on " + host + ":" + service + ": " + why);
}

void HttpServer::Loop::Run() {
  std::vector<std::thread> workers;
  const int threads = std::max(options_.http_threads, 2);
  for (int i = 0; i < threads; ++i) workers.emplace_back([this] { WorkerMain(); });

  std::vector<epoll_event> events(256);
  while (!stopping_) {
    const int count = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < count; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        Accept();
      } else if (id == kWakeId) {
        uint64_t value;
        [[maybe_unused]] ssize_t got = read(wake_, &value, sizeof(value));
      } else if (auto it = connections_.find(id); it != connections_.end()) {
        std::shared_ptr<Connection> connection = it->second;  // Close may erase the entry
        OnEvent(*connection, events[i].events);
      }
    }
    std::vector<std::shared_ptr<Connection>> flush;
    {
      std::lock_guard lock(mutex_);
      flush.swap(flush_);
    }
    for (const std::shared_ptr<Connection>& connection : flush) {
      if (connection->fd >= 0) Flush(*connection);
    }
    CheckDeadlines();
  }

  if (listen_ >= 0) close(listen_);
  listen_ = -1;
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, connection] : connections_) open.push_back(connection);
  for (const auto& connection : open) Close(*connection);
  {
    std::lock_guard lock(mutex_);
    workers_stop_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers) worker.join();
}

void HttpServer::Loop::Accept() {
  while (true) {
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    const int fd = accept4(listen_, reinterpret_cast<sockaddr*>(&peer), &length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        LOG(WARNING) << "server: out of file descriptors";
      }
      return;
    }
    if (static_cast<int>(connections_.size()) >= options_.max_connections) EvictForRoom();
    if (static_cast<int>(connections_.size()) >= options_.max_connections) {
      close(fd);  // every connection is busy with a request: the client retries
      continue;
    }
    const int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));  // SSE chunks leave at once
    // A fixed send buffer: a client that stops reading fills it (and then our 64 KiB) within
    // seconds at SSE rates, so the write-stall deadline finds it; the kernel's autotuning would
    // let it swallow megabytes first. 128 KiB still fills a LAN link.
    const int send_buffer_bytes = 128 << 10;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer_bytes, sizeof(send_buffer_bytes));
    auto connection = std::make_shared<Connection>();
    connection->fd = fd;
    connection->id = next_id_++;
    char host[NI_MAXHOST] = "";
    getnameinfo(reinterpret_cast<sockaddr*>(&peer), length, host, sizeof(host), nullptr, 0,
                NI_NUMERICHOST);
    connection->remote_address = host;
    connection->deadline = Clock::now() + std::chrono::milliseconds(options_.header_timeout_ms);
    epoll_event event{.events = EPOLLIN | EPOLLRDHUP, .data = {.u64 = connection->id}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    connections_[connection->id] = std::move(connection);
    open_connections_ = static_cast<int>(connections_.size());
  }
}

// At the connection cap, the connection that has waited longest for a request head goes: a
// slow or idle client cannot keep the others out.
void HttpServer::Loop::EvictForRoom() {
  Connection* oldest = nullptr;
  for (auto& [id, connection] : connections_) {
    if (connection->phase != Phase::kHead) continue;
    if (oldest == nullptr || connection->phase_started < oldest->phase_started) {
      oldest = connection.get();
    }
  }
  if (oldest != nullptr) Close(*oldest);
}

void HttpServer::Loop::OnEvent(Connection& connection, uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) return Close(connection);
  if (connection.phase == Phase::kHandling || connection.phase == Phase::kWriting) {
    // The request is being answered: reading waits (pipelined requests stay in the socket), but
    // a hang-up is noticed at once so the handler stops its work.
    if (events & EPOLLRDHUP) return Close(connection);
    if (events & EPOLLOUT) Flush(connection);
    return;
  }
  if (connection.phase == Phase::kLingering) {
    char discard[16384];
    while (true) {
      const ssize_t got = recv(connection.fd, discard, sizeof(discard), 0);
      if (got > 0) continue;
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return Close(connection);  // the client is done too
    }
  }
  if (events & EPOLLIN) {
    ReadFrom(connection);
  } else if (events & EPOLLRDHUP) {
    Close(connection);
  }
}

void HttpServer::Loop::ReadFrom(Connection& connection) {
  char buffer[16384];
  while (connection.fd >= 0 && (connection.phase == Phase::kHead ||
                                connection.phase == Phase::kBody)) {
    const ssize_t got = recv(connection.fd, buffer, sizeof(buffer), 0);
    if (got > 0) {
      if (connection.input.empty() && connection.phase == Phase::kHead && !connection.started) {
        // The head's deadline runs from its first byte; before it, the idle deadline.
        connection.started = true;
        connection.deadline =
            Clock::now() + std::chrono::milliseconds(options_.header_timeout_ms);
      }
      connection.input.append(buffer, static_cast<size_t>(got));
      Process(connection);
      continue;
    }
    if (got == 0) return Close(connection);  // the peer is done (mid-request: abandoned)
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) Close(connection);
    return;
  }
}

void HttpServer::Loop::Process(Connection& connection) {
  if (connection.phase == Phase::kHead) {
    if (connection.input.empty()) return;
    size_t head_bytes = 0;
    HttpFault fault;
    connection.head = RequestHead();
    switch (ParseRequestHead(connection.input, limits_, connection.head, head_bytes, fault)) {
      case ParseState::kIncomplete:
        return;
      case ParseState::kFault:
        return Refuse(connection, fault.http_status == 413
                                      ? BodyTooLarge(options_.max_body_bytes)
                                      : ApiError{.http_status = fault.http_status,
                                                 .message = "server: " + fault.message});
      case ParseState::kComplete:
        break;
    }
    connection.input.erase(0, head_bytes);
    RequestHead& head = connection.head;
    const std::string encoding = head.request.Header("Content-Encoding");
    if (!encoding.empty() && !HeaderNameEquals(encoding, "identity")) {
      return Refuse(connection, ApiError{.http_status = 415,
                                         .message = "server: Content-Encoding '" +
                                                    encoding.substr(0, 40) +
                                                    "' is not accepted; send the body as is"});
    }
    connection.reservation = BodyReservation(&budget_);
    if (head.framing == BodyFraming::kLength &&
        !connection.reservation.GrowTo(head.content_length)) {
      return Refuse(connection, BodyBudgetSpent());
    }
    connection.body.clear();
    connection.decoder = ChunkedDecoder(options_.max_body_bytes);
    connection.phase = Phase::kBody;
    connection.deadline = Clock::now() + std::chrono::milliseconds(options_.body_timeout_ms);
    if (head.expect_continue && head.framing != BodyFraming::kNone) {
      {
        std::lock_guard lock(connection.mutex);
        connection.output += "HTTP/1.1 100 Continue\r\n\r\n";
      }
      Flush(connection);
      if (connection.fd < 0) return;
    }
  }
  RequestHead& head = connection.head;
  if (head.framing == BodyFraming::kLength) {
    const size_t want = head.content_length - connection.body.size();
    const size_t take = std::min(want, connection.input.size());
    connection.body.append(connection.input, 0, take);
    connection.input.erase(0, take);
    if (connection.body.size() < head.content_length) return;
  } else if (head.framing == BodyFraming::kChunked) {
    size_t consumed = 0;
    HttpFault fault;
    const ParseState state =
        connection.decoder.Feed(connection.input, consumed, connection.body, fault);
    connection.input.erase(0, consumed);
    if (state == ParseState::kFault) {
      return Refuse(connection, fault.http_status == 413
                                    ? BodyTooLarge(options_.max_body_bytes)
                                    : ApiError{.http_status = fault.http_status,
                                               .message = "server: " + fault.message});
    }
    // The budget follows the decoded bytes as they arrive.
    if (!connection.reservation.GrowTo(connection.body.size())) {
      return Refuse(connection, BodyBudgetSpent());
    }
    if (state == ParseState::kIncomplete) return;
  }
  Dispatch(connection);
}

void HttpServer::Loop::Dispatch(Connection& connection) {
  connection.phase = Phase::kHandling;
  Watch(connection, 0);  // hang-ups only, until the answer is written
  auto exchange = std::make_unique<Exchange>();
  exchange->connection = connections_.at(connection.id);
  exchange->request = std::move(connection.head.request);
  exchange->request.body = std::move(connection.body);
  exchange->request.remote_address = connection.remote_address;
  exchange->keep_alive = connection.head.keep_alive && !stopping_;
  exchange->reservation = std::move(connection.reservation);
  std::weak_ptr<Connection> weak = exchange->connection;
  exchange->request.hung_up = [weak] {
    std::shared_ptr<Connection> alive = weak.lock();
    return alive == nullptr || alive->gone.load();
  };
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(exchange));
  }
  work_ready_.notify_one();
}

void HttpServer::Loop::Refuse(Connection& connection, const ApiError& error) {
  HttpResponse response;
  router_.Refuse(error, response);
  connection.reservation.Release();
  connection.input.clear();
  connection.phase = Phase::kWriting;
  Watch(connection, 0);
  {
    std::lock_guard lock(connection.mutex);
    connection.output += SerializeHead(response, response.body.size(), /*keep_alive=*/false);
    connection.output += response.body;
    connection.answer_complete = true;
    connection.close_after = true;
  }
  Flush(connection);
}

void HttpServer::Loop::Flush(Connection& connection) {
  bool complete = false, close_after = false, pending = false;
  {
    std::lock_guard lock(connection.mutex);
    while (connection.written < connection.output.size()) {
      const ssize_t sent = send(connection.fd, connection.output.data() + connection.written,
                                connection.output.size() - connection.written, MSG_NOSIGNAL);
      if (sent > 0) {
        connection.written += static_cast<size_t>(sent);
        connection.last_write = Clock::now();
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      connection.gone = true;
      break;
    }
    if (connection.written == connection.output.size()) {
      connection.output.clear();
      connection.written = 0;
    } else if (connection.written > (64u << 10)) {
      connection.output.erase(0, connection.written);
      connection.written = 0;
    }
    pending = !connection.output.empty();
    complete = connection.answer_complete && !pending;
    close_after = connection.close_after;
  }
  connection.room.notify_all();  // a streaming worker waits for the buffer to drain
  if (connection.gone) return Close(connection);
  if (connection.phase == Phase::kHead || connection.phase == Phase::kBody) {
    Watch(connection, pending ? EPOLLIN | EPOLLOUT : uint32_t{EPOLLIN});  // a 100 Continue
    return;
  }
  if (!complete) {
    Watch(connection, pending ? uint32_t{EPOLLOUT} : 0u);
    return;
  }
  if (stopping_) return Close(connection);
  if (close_after) return Linger(connection);
  StartNextRequest(connection);
}

void HttpServer::Loop::StartNextRequest(Connection& connection) {
  {
    std::lock_guard lock(connection.mutex);
    connection.answer_complete = false;
    connection.close_after = false;
  }
  connection.phase = Phase::kHead;
  connection.phase_started = Clock::now();
  connection.started = !connection.input.empty();
  connection.deadline =
      Clock::now() + std::chrono::milliseconds(connection.started ? options_.header_timeout_ms
                                                                  : options_.idle_timeout_ms);
  Watch(connection, EPOLLIN);
  Process(connection);  // a pipelined request may already be here
  if (connection.fd >= 0 && connection.phase == Phase::kHead) ReadFrom(connection);
}

void HttpServer::Loop::Linger(Connection& connection) {
  shutdown(connection.fd, SHUT_WR);
  connection.phase = Phase::kLingering;
  connection.input.clear();
  connection.deadline = Clock::now() + std::chrono::seconds(1);
  Watch(connection, EPOLLIN);
}

void HttpServer::Loop::Close(Connection& connection) {
  if (connection.fd < 0) return;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, connection.fd, nullptr);
  close(connection.fd);
  connection.fd = -1;
  connection.gone = true;
  connection.room.notify_all();
  connection.reservation.Release();
  connections_.erase(connection.id);  // a worker may still hold it; it sees `gone`
  open_connections_ = static_cast<int>(connections_.size());
}

void HttpServer::Loop::CheckDeadlines() {
  const Clock::time_point now = Clock::now();
  const auto stall = std::chrono::milliseconds(options_.write_stall_ms);
  std::vector<Connection*> expired;
  for (auto& [id, connection] : connections_) {
    switch (connection->phase) {
      case Phase::kHead:
      case Phase::kBody:
        if (now >= connection->deadline) expired.push_back(connection.get());
        break;
      case Phase::kLingering:
        if (now >= connection->deadline) expired.push_back(connection.get());
        break;
      case Phase::kHandling:
      case Phase::kWriting: {
        std::lock_guard lock(connection->mutex);
        if (!connection->output.empty() && now - connection->last_write > stall) {
          expired.push_back(connection.get());
        }
        break;
      }
    }
  }
  for (Connection* connection : expired) {
    if (connection->phase == Phase::kBody ||
        (connection->phase == Phase::kHead && connection->started)) {
      Refuse(*connection, ApiError{.http_status = 408,
                                   .message = "server: the request did not arrive in time"});
    } else {
      Close(*connection);  // idle, or a client that stopped reading its answer
    }
  }
}

void HttpServer::Loop::WorkerMain() {
  while (true) {
    std::unique_ptr<Exchange> exchange;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return workers_stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      exchange = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Connection& connection = *exchange->connection;
    HttpResponse response;
    if (!connection.gone) router_.Handle(exchange->request, response);
    exchange->request.body.clear();
    exchange->request.body.shrink_to_fit();
    exchange->reservation.Release();  // the handler is done with the body
    auto flush = [&] {
      {
        std::lock_guard lock(mutex_);
        flush_.push_back(exchange->connection);
      }
      Wake();
    };
    WriteAnswer(connection, response, exchange->keep_alive,
                std::chrono::milliseconds(options_.write_stall_ms), flush);
  }
}

HttpServer::HttpServer(ServerContext& context)
    : context_(context), loop_(std::make_unique<Loop>(context)) {}
HttpServer::~HttpServer() = default;
Result<int> HttpServer::Bind(const std::string& host, int port) { return loop_->Bind(host, port); }
void HttpServer::Serve() { loop_->Run(); }
void HttpServer::Stop() { loop_->Stop(); }
int HttpServer::open_connections() const { return loop_->open_connections(); }

}  // namespace snug::server
