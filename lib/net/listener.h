// Listener: accepts LDAP connections on one endpoint (plain with StartTLS, or
// implicit TLS for ldaps), enforces the connection limits (total and per
// source address: past them the client gets a busy notice of disconnection
// and is closed), and starts a Session for each. Runs on the io_context;
// Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lib/base/status.h"
#include "lib/net/session_limits.h"
#include "lib/net/session.h"

namespace simplead::net {

struct ListenerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see Listener::port())
  bool implicit_tls = false;
  SessionLimits session_limits;
  ListenerLimits listener_limits;
};

// Options for a "HOST:PORT" listen address (lib/net/host_port.h) with the
// process's limits: what simplead and adconnector each listen with.
Result<ListenerOptions> ListenerOptionsFor(std::string_view address, bool implicit_tls,
                                           const SessionLimits& session_limits,
                                           const ListenerLimits& listener_limits);

// Shared by the listeners of one process so the total and per-address caps
// count every port.
class ConnectionTracker {
 public:
  explicit ConnectionTracker(ListenerLimits limits) : limits_(limits) {}
  // A slot, or nullptr when a limit is reached (*why says which).
  std::shared_ptr<void> Acquire(const std::string& address, std::string* why);
  size_t total() const { return total_.load(); }
  void set_limits(ListenerLimits limits);
  void Release(const std::string& address);  // called by a slot's destructor

 private:
  mutable std::mutex mu_;
  ListenerLimits limits_;
  std::map<std::string, size_t> per_address_;
  std::atomic<size_t> total_{0};
};

class Listener {
 public:
  static Result<std::unique_ptr<Listener>> Create(boost::asio::io_context& io, const ListenerOptions& options,
                                                  RequestHandler& handler, ConnectionTracker& tracker,
                                                  Session::TlsContextProvider tls);
  // Accepts until Stop(), on the listener's strand.
  void Start();
  void Stop();
  uint16_t port() const { return port_; }
  // New limits apply to connections accepted afterwards (SIGHUP).
  void set_session_limits(const SessionLimits& limits);

 private:
  Listener(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor acceptor, const ListenerOptions& options,
           RequestHandler& handler, ConnectionTracker& tracker, Session::TlsContextProvider tls);

  boost::asio::awaitable<void> AcceptLoop();

  boost::asio::io_context& io_;
  // The accept loop and Stop's close both run here: an acceptor is not safe
  // to use from two threads at once, and with several I/O threads a close
  // posted to the io_context could run while the loop starts an accept.
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  ListenerOptions options_;
  std::mutex limits_mu_;
  RequestHandler& handler_;
  ConnectionTracker& tracker_;
  Session::TlsContextProvider tls_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> next_session_id_{1};
};

}  // namespace simplead::net
