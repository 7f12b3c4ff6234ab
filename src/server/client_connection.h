// Whether the client of a request is still there, for handlers that wait without writing (a
// non-streaming completion): its request is cancelled when the client hangs up. cpp-httplib
// 0.11 gives a handler neither its socket nor a disconnect signal (DataSink::is_writable only
// polls for POLLOUT, which a peer's FIN does not clear), so the socket is found by the
// connection's 4-tuple, which httplib::Request carries and which names one open TCP socket.
// The socket stays open while the handler runs (httplib closes it after the handler returns on
// the same thread), so its descriptor cannot be reused under us.
#pragma once

#include <httplib.h>

namespace snug::server {

class ClientConnection {
 public:
  // The request's socket; an unknown one (not found, or not TCP) never reports a hang-up.
  static ClientConnection Of(const httplib::Request& request);

  // True once the peer has closed the connection or it failed: end of stream or an error is
  // waiting to be read. Data waiting (a pipelined next request) is left unread and is not a
  // hang-up. Never blocks.
  bool HungUp() const;
  bool known() const { return socket_ >= 0; }

 private:
  int socket_ = -1;
};

}  // namespace snug::server
