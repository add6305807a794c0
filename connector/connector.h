// Connector: wires the upstream pool, the proxy, the listeners, TLS, the
// health checker, signals and the control socket into the running
// adconnector daemon. Built by Create(); Run() blocks until SIGTERM/SIGINT.
//
// Control socket (<data-dir>/control.sock, owner only), one line per
// request: "status" -> one line per upstream, then "ok"; "reload-service-account"
// -> re-reads the sealed service-account password ("ok" or "error ...").
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "connector/config.h"
#include "connector/proxy.h"
#include "connector/radius.h"
#include "connector/sealed_secret.h"
#include "connector/upstream.h"
#include "lib/base/clock.h"
#include "lib/kms/audit.h"
#include "lib/net/listener.h"
#include "lib/net/tls.h"

namespace simplead::connector {

inline constexpr char kVersion[] = "0.1.0";

// Seals the service-account password from config.service_password_file
// unless it is sealed already (or `force`). Used by `init`, the first start
// and `rotate-service-account`.
Status SealServicePassword(const std::string& data_dir, const std::string& service_dn,
                           const std::string& password_file, bool force);
// Sends one control-socket command to a running daemon; returns its reply.
Result<std::string> ControlRequest(const std::string& data_dir, const std::string& command);

class Connector {
 public:
  static Result<std::unique_ptr<Connector>> Create(ConnectorConfig config, std::shared_ptr<spdlog::logger> log);
  ~Connector();
  int Run();
  void Stop();

 private:
  Connector(ConnectorConfig config, std::shared_ptr<spdlog::logger> log);
  Status Init();
  Status LoadServicePassword();
  std::string StatusText() const;
  boost::asio::awaitable<void> HandleSignals();
  boost::asio::awaitable<void> ControlLoop();
  boost::asio::awaitable<void> HealthLoop();

  ConnectorConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<spdlog::logger> access_log_;
  SystemClock clock_;
  boost::asio::io_context io_;
  // The signal and control loops and Stop's closes run here: an acceptor or
  // signal_set used from two I/O threads at once is a data race.
  boost::asio::strand<boost::asio::io_context::executor_type> strand_{boost::asio::make_strand(io_)};
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::unique_ptr<SealedSecretFile> secrets_;
  std::unique_ptr<UpstreamPool> upstreams_;
  std::unique_ptr<radius::RadiusClient> radius_;
  std::unique_ptr<kms::AuditTrail> audit_;
  std::unique_ptr<Proxy> proxy_;
  net::TlsContextHolder tls_;
  std::unique_ptr<net::ConnectionTracker> tracker_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  boost::asio::signal_set signals_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> control_;
  std::atomic<bool> stopping_{false};
};

}  // namespace simplead::connector
