#include "server/client_connection.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace snug::server {
namespace {

// The address and port as httplib writes them into Request (getnameinfo, numeric host).
bool Endpoint(const sockaddr_storage& address, socklen_t length, std::string& ip, int& port) {
  if (address.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  } else if (address.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  } else {
    return false;
  }
  std::array<char, NI_MAXHOST> host{};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host.data(), host.size(),
                  nullptr, 0, NI_NUMERICHOST) != 0) {
    return false;
  }
  ip = host.data();
  return true;
}

bool Matches(int fd, const httplib::Request& request) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  std::string ip;
  int port = -1;
  // Ports first: cheap, and they already rule out nearly every other socket.
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      !Endpoint(address, length, ip, port) || port != request.local_port ||
      ip != request.local_addr) {
    return false;
  }
  length = sizeof(address);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
         Endpoint(address, length, ip, port) && port == request.remote_port &&
         ip == request.remote_addr;
}

}  // namespace

ClientConnection ClientConnection::Of(const httplib::Request& request) {
  ClientConnection connection;
  if (request.remote_port < 0 || request.local_port < 0) return connection;
  // Linux lists the open descriptors; elsewhere, try each up to a bound.
  if (DIR* fds = opendir("/proc/self/fd")) {
    const int listing = dirfd(fds);
    while (const dirent* entry = readdir(fds)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      const int fd = std::atoi(entry->d_name);
      if (fd != listing && Matches(fd, request)) {
        connection.socket_ = fd;
        break;
      }
    }
    closedir(fds);
    return connection;
  }
  const int limit = static_cast<int>(std::min<long>(sysconf(_SC_OPEN_MAX), 4096));
  for (int fd = 0; fd < limit; ++fd) {
    if (Matches(fd, request)) {
      connection.socket_ = fd;
      break;
    }
  }
  return connection;
}

bool ClientConnection::HungUp() const {
  if (socket_ < 0) return false;
  pollfd entry{.fd = socket_, .events = POLLIN, .revents = 0};
  if (poll(&entry, 1, 0) <= 0) return false;  // nothing to read: still there
  if (entry.revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
  if (!(entry.revents & POLLIN)) return false;
  char byte;
  const ssize_t peeked = recv(socket_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked > 0) return false;  // a pipelined request, not a hang-up
  return peeked == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace snug::server
