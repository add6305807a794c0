// Server: wires the directory, the frontend, the listeners, TLS, signals and
// the control socket into the running simplead daemon. Built by Create();
// Run() blocks until SIGTERM/SIGINT. Reload (SIGHUP) re-reads the TLS
// certificate and the connection limits.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include <spdlog/logger.h>

#include "lib/base/clock.h"
#include "lib/net/listener.h"
#include "lib/net/tls.h"
#include "server/backend/directory.h"
#include "server/config.h"
#include "server/frontend/frontend.h"
#include "server/kms_setup.h"
#include "lib/kms/http_api.h"

namespace simplead::server {

class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(ServerConfig config, std::shared_ptr<spdlog::logger> log);
  ~Server();
  // Blocks until stopped by a signal or Stop().
  int Run();
  void Stop();

 private:
  Server(ServerConfig config, std::shared_ptr<spdlog::logger> log);
  Status Init();
  Status LoadTls();
  void Reload();
  boost::asio::awaitable<void> HandleSignals();
  boost::asio::awaitable<void> ControlLoop();

  ServerConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<spdlog::logger> access_log_;
  SystemClock clock_;
  boost::asio::io_context io_;
  // The signal and control loops and Stop's closes run here: an acceptor or
  // signal_set used from two I/O threads at once is a data race.
  boost::asio::strand<boost::asio::io_context::executor_type> strand_{boost::asio::make_strand(io_)};
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::unique_ptr<boost::asio::thread_pool> write_pool_;  // updates (group commit)
  std::unique_ptr<DirectoryKms> kms_;  // before directory_: its sealer borrows the KMS
  std::unique_ptr<backend::Directory> directory_;
  std::unique_ptr<kms::HttpApi> kms_http_;
  std::unique_ptr<frontend::BindThrottle> bind_throttle_;  // before frontend_, which borrows it
  std::unique_ptr<frontend::Frontend> frontend_;
  net::TlsContextHolder tls_;
  std::unique_ptr<net::ConnectionTracker> tracker_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  boost::asio::signal_set signals_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> control_;
};

}  // namespace simplead::server
