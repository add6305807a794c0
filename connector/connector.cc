#include "connector/connector.h"

#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>

#include "lib/kms/key_store.h"
#include "lib/net/offload.h"

namespace simplead::connector {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

Status SealServicePassword(const std::string& data_dir, const std::string& service_dn,
                           const std::string& password_file, bool force) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto secrets, SealedSecretFile::Open(data_dir));
  if (secrets->Exists(kServiceAccountSecret) && !force) return Status::Ok();
  if (password_file.empty()) {
    return Error(ResultCode::kOther, "no sealed service-account password in " + data_dir +
                                         " yet: give --service-password-file");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(std::string line, ReadFirstLine(password_file));
  SecureBytes password(line);
  WipeString(line);
  (void)service_dn;  // the DN may change; the password is bound to the data dir's key only
  return secrets->Write(kServiceAccountSecret, password, kServiceAccountSecret);
}

Result<std::string> ControlRequest(const std::string& data_dir, const std::string& command) {
  asio::io_context io;
  local::socket socket(io);
  boost::system::error_code ec;
  socket.connect(local::endpoint(data_dir + "/control.sock"), ec);
  if (ec) return Error(ResultCode::kUnavailable, "adconnector is not running in " + data_dir + " (" + ec.message() + ")");
  std::string line = command + "\n";
  asio::write(socket, asio::buffer(line), ec);
  if (ec) return Error(ResultCode::kUnavailable, "control socket: " + ec.message());
  std::string reply;
  std::array<char, 4096> buf;
  for (;;) {
    size_t n = socket.read_some(asio::buffer(buf), ec);
    reply.append(buf.data(), n);
    if (ec) break;
  }
  return reply;
}

Connector::Connector(ConnectorConfig config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)), log_(std::move(log)), signals_(io_) {
  // Caught from here on, before Init opens the listeners: a SIGTERM sent as
  // soon as the port answers is a clean stop, not the default action.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
}

Connector::~Connector() {
  proxy_.reset();
  if (pool_) pool_->join();
}

Result<std::unique_ptr<Connector>> Connector::Create(ConnectorConfig config, std::shared_ptr<spdlog::logger> log) {
  auto connector = std::unique_ptr<Connector>(new Connector(std::move(config), std::move(log)));
  SIMPLEAD_RETURN_IF_ERROR(connector->Init());
  return connector;
}

Status Connector::LoadServicePassword() {
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes password, secrets_->Read(kServiceAccountSecret, kServiceAccountSecret));
  upstreams_->SetServicePassword(std::move(password));
  return Status::Ok();
}

Status Connector::Init() {
  SIMPLEAD_RETURN_IF_ERROR(
      SealServicePassword(config_.data_dir, config_.service_dn, config_.service_password_file, false));
  SIMPLEAD_ASSIGN_OR_RETURN(secrets_, SealedSecretFile::Open(config_.data_dir));
  if (!config_.service_password_file.empty() && std::filesystem::exists(config_.service_password_file)) {
    log_->warn("the service-account password is sealed in {}; {} is no longer read and can be deleted",
               secrets_->PathOf(kServiceAccountSecret), config_.service_password_file);
  }

  if (config_.access_log == "-") {
    access_log_ = log_;
  } else if (!config_.access_log.empty()) {
    try {
      access_log_ = spdlog::basic_logger_mt("access", config_.access_log);
      access_log_->flush_on(spdlog::level::info);
    } catch (const std::exception& e) {
      return InternalError(std::string("cannot open access log: ") + e.what());
    }
  }
  SIMPLEAD_ASSIGN_OR_RETURN(audit_, kms::AuditTrail::Open(config_.audit_log, clock_));

  UpstreamOptions uo;
  uo.urls = config_.upstreams;
  uo.starttls = config_.upstream_starttls;
  uo.connect_timeout = std::chrono::milliseconds(config_.connect_timeout_ms);
  uo.operation_timeout = std::chrono::seconds(config_.operation_timeout_seconds);
  uo.failure_threshold = config_.failure_threshold;
  uo.cool_down = std::chrono::milliseconds(config_.cool_down_ms);
  uo.service_pool_size = config_.service_pool_size;
  uo.bind_pool_size = config_.bind_pool_size;
  uo.service_dn = config_.service_dn;
  if (config_.upstream_ca.size() == 1) {
    uo.ca_file = config_.upstream_ca.front();
  } else if (config_.upstream_ca.size() > 1) {
    // libldap takes one CA file: pin the union of the given ones.
    std::string bundle;
    for (const auto& f : config_.upstream_ca) {
      SIMPLEAD_ASSIGN_OR_RETURN(std::string pem, kms::ReadWholeFile(f));
      bundle += pem + "\n";
    }
    uo.ca_file = config_.data_dir + "/upstream-ca.pem";
    SIMPLEAD_RETURN_IF_ERROR(kms::WriteFileAtomically(uo.ca_file, bundle, 0644));
  }
  upstreams_ = std::make_unique<UpstreamPool>(uo);
  SIMPLEAD_RETURN_IF_ERROR(LoadServicePassword());

  if (config_.radius.enabled()) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto hp, net::ParseHostPort(config_.radius.server));
    SIMPLEAD_ASSIGN_OR_RETURN(std::string secret, ReadFirstLine(config_.radius.secret_file));
    radius::ClientOptions ro;
    ro.host = hp.first;
    ro.port = hp.second;
    ro.secret = SecureBytes(secret);
    WipeString(secret);
    ro.timeout = std::chrono::seconds(config_.radius.timeout_seconds);
    ro.retries = config_.radius.retries;
    ro.nas_identifier = config_.radius.nas_identifier;
    radius_ = std::make_unique<radius::RadiusClient>(std::move(ro));
  }

  // TLS for our own listeners.
  net::TlsFiles files{config_.tls_cert_file, config_.tls_key_file};
  if (files.cert_file.empty()) {
    SIMPLEAD_ASSIGN_OR_RETURN(files, net::EnsureSelfSignedCertificates(config_.data_dir + "/tls",
                                                                       {"localhost", config_.domain}));
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto context, net::MakeServerTlsContext(files));
  tls_.Set(std::move(context));

  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  // Workers block in libldap for the length of a search: keep plenty.
  int workers = config_.workers > 0 ? config_.workers : static_cast<int>(std::max(8u, cores * 4));
  pool_ = std::make_unique<asio::thread_pool>(workers);

  ProxyOptions po;
  po.domain = config_.domain;
  po.netbios = config_.netbios;
  po.base_dn = config_.base_dn;
  po.upn_attributes = config_.upn_attributes;
  po.name_attributes = config_.name_attributes;
  po.allow_writes = config_.allow_writes;
  po.tls_available = true;
  po.radius_separator = config_.radius.enabled() ? config_.radius.separator : "";
  po.vendor_version = kVersion;
  proxy_ = std::make_unique<Proxy>(*upstreams_, *pool_, po, radius_.get(), audit_.get(), access_log_, log_);
  tracker_ = std::make_unique<net::ConnectionTracker>(config_.listener_limits);

  auto tls_provider = [this] { return tls_.Get(); };
  auto listen = [&](const std::string& address, bool implicit_tls) -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(auto lo, net::ListenerOptionsFor(address, implicit_tls, config_.session_limits,
                                                               config_.listener_limits));
    SIMPLEAD_ASSIGN_OR_RETURN(auto listener, net::Listener::Create(io_, lo, *proxy_, *tracker_, tls_provider));
    log_->info("listening on {}://{}:{}", implicit_tls ? "ldaps" : "ldap", lo.host, listener->port());
    listeners_.push_back(std::move(listener));
    return Status::Ok();
  };
  SIMPLEAD_RETURN_IF_ERROR(listen(config_.listen, false));
  if (!config_.ldaps_listen.empty()) SIMPLEAD_RETURN_IF_ERROR(listen(config_.ldaps_listen, true));

  std::string socket_path = config_.data_dir + "/control.sock";
  std::error_code ec;
  std::filesystem::remove(socket_path, ec);
  control_ = std::make_unique<local::acceptor>(io_);
  boost::system::error_code bec;
  control_->open(local(), bec);
  mode_t old_mask = ::umask(0077);
  if (!bec) control_->bind(local::endpoint(socket_path), bec);
  ::umask(old_mask);
  if (!bec) control_->listen(8, bec);
  if (bec) return InternalError("cannot open control socket " + socket_path + ": " + bec.message());
  return Status::Ok();
}

std::string Connector::StatusText() const {
  std::string out;
  size_t i = 0;
  for (const auto& s : upstreams_->Status()) {
    out += fmt::format("upstream={} url={} state={} rtt_ms={} failures={} connections={} last_error=\"{}\"\n", ++i,
                       s.url, BreakerStateName(s.state),
                       s.rtt_ms < 0 ? std::string("-") : fmt::format("{:.2f}", s.rtt_ms), s.consecutive_failures,
                       s.open_connections, s.last_error);
  }
  out += fmt::format("clients={}\nok\n", tracker_->total());
  return out;
}

asio::awaitable<void> Connector::HandleSignals() {
  while (true) {
    auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (sig == SIGHUP) {
      Status st = LoadServicePassword();
      log_->info("SIGHUP: service-account password reload: {}", st.ok() ? "ok" : st.ToString());
      continue;
    }
    log_->info("signal {}: shutting down", sig);
    Stop();
    co_return;
  }
}

asio::awaitable<void> Connector::HealthLoop() {
  asio::steady_timer timer(io_);
  std::vector<BreakerState> last(upstreams_->size(), BreakerState::kClosed);
  while (!stopping_.load()) {
    co_await net::Offload(*pool_, [this] { upstreams_->HealthCheck(); });
    auto now = upstreams_->Status();
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i].state != last[i]) {
        log_->warn("upstream {} is {}{}", now[i].url, BreakerStateName(now[i].state),
                   now[i].state == BreakerState::kClosed ? "" : " (" + now[i].last_error + ")");
        last[i] = now[i].state;
      }
    }
    timer.expires_after(std::chrono::milliseconds(config_.health_interval_ms));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

asio::awaitable<void> Connector::ControlLoop() {
  while (control_ && control_->is_open()) {
    auto [ec, socket] = co_await control_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::streambuf buf(4096);
    auto [rec, n] = co_await asio::async_read_until(socket, buf, '\n', asio::as_tuple(asio::use_awaitable));
    if (rec) continue;
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    std::string reply;
    if (line == "status") {
      reply = StatusText();
    } else if (line == "reload-service-account") {
      Status st = co_await net::Offload(*pool_, [this] { return LoadServicePassword(); });
      reply = st.ok() ? "ok\n" : "error " + st.message() + "\n";
      log_->info("service-account password reloaded: {}", st.ok() ? "ok" : st.ToString());
    } else {
      reply = "error unknown command\n";
    }
    co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
  }
}

void Connector::Stop() {
  asio::post(strand_, [this] {
    stopping_ = true;
    for (auto& l : listeners_) l->Stop();
    boost::system::error_code ignored;
    if (control_) control_->close(ignored);
    signals_.cancel();
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
    timer->async_wait([this, timer](auto) { io_.stop(); });
  });
}

int Connector::Run() {
  for (auto& l : listeners_) l->Start();
  asio::co_spawn(strand_, HandleSignals(), asio::detached);
  asio::co_spawn(strand_, ControlLoop(), asio::detached);
  asio::co_spawn(io_, HealthLoop(), asio::detached);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  int threads = config_.threads > 0 ? config_.threads : static_cast<int>(cores);
  log_->info("adconnector {} ready for {} ({} upstreams)", kVersion, config_.domain, config_.upstreams.size());
  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i) runners.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : runners) t.join();
  pool_->join();
  std::error_code ec;
  std::filesystem::remove(config_.data_dir + "/control.sock", ec);
  log_->info("stopped");
  return 0;
}

}  // namespace simplead::connector
