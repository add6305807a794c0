#include "server/server.h"

#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "lib/auth/password_hash.h"
#include "lib/net/offload.h"
#include "server/backup.h"
#include "server/version.h"

namespace simplead::server {

namespace asio = boost::asio;

Server::Server(ServerConfig config, std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)), log_(std::move(log)), signals_(io_) {
  // Caught from here on, before Init opens the listeners: a SIGTERM sent as
  // soon as the port answers is a clean stop, not the default action.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
}

Server::~Server() {
  if (write_pool_) write_pool_->join();
  if (pool_) pool_->join();
}

Result<std::unique_ptr<Server>> Server::Create(ServerConfig config, std::shared_ptr<spdlog::logger> log) {
  auto server = std::unique_ptr<Server>(new Server(std::move(config), std::move(log)));
  SIMPLEAD_RETURN_IF_ERROR(server->Init());
  return server;
}

Status Server::LoadTls() {
  net::TlsFiles files{config_.tls_cert_file, config_.tls_key_file};
  if (files.cert_file.empty()) {
    std::vector<std::string> hosts{"localhost"};
    if (!config_.domain.empty()) hosts.push_back(config_.domain);
    SIMPLEAD_ASSIGN_OR_RETURN(files, net::EnsureSelfSignedCertificates(config_.data_dir + "/tls", hosts));
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto context, net::MakeServerTlsContext(files));
  tls_.Set(std::move(context));
  return Status::Ok();
}

Status Server::Init() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) return InternalError("cannot create data dir " + config_.data_dir + ": " + ec.message());
  ::chmod(config_.data_dir.c_str(), 0700);

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

  SIMPLEAD_ASSIGN_OR_RETURN(auto schema, schema::Schema::LoadDirectory(config_.schema_dir));
  SIMPLEAD_ASSIGN_OR_RETURN(kms_, DirectoryKms::Open(KmsSettingsFrom(config_), clock_));
  SIMPLEAD_ASSIGN_OR_RETURN(directory_, backend::Directory::Open(DirectoryOptionsFrom(config_), schema, clock_,
                                                                 kms_->MakeSealer()));
  {
    const store::Store& store = directory_->store();
    const store::CacheBudgets caches = store.cache_budgets();
    constexpr double kMiB = 1024.0 * 1024.0;
    const size_t opened_values = OpenedValuesFor(config_, store.entries_at_open());
    kms_->sealer().SetMaxOpenedValues(opened_values);
    log_->info(
        "caches for about {} entries: decoded entries {:.0f} MiB, records {:.0f} MiB, DNs {:.0f} MiB, index keys "
        "{:.0f} MiB, opened verifiers {}",
        store.entries_at_open(), caches.entry_bytes / kMiB, caches.record_bytes / kMiB, caches.dn_bytes / kMiB,
        caches.posting_bytes / kMiB, opened_values);
  }
  if (!directory_->IsProvisioned()) {
    SIMPLEAD_ASSIGN_OR_RETURN(std::string password, ReadAdminPassword(config_));
    bool generated = password.empty();
    if (generated) password = auth::GeneratePassword(20);
    backend::ProvisionOptions provision{password, config_.admin_dn};
    SIMPLEAD_RETURN_IF_ERROR(directory_->Provision(provision));
    std::string admin = config_.domain.empty()
                            ? (config_.admin_dn.empty() ? "cn=admin," + config_.suffix : config_.admin_dn)
                            : "Administrator@" + config_.domain + " (" + config_.netbios + "\\Administrator)";
    log_->info("created directory {} in {}", directory_->options().suffix, config_.data_dir);
    if (generated) {
      // Shown once, never stored in clear: write it down now.
      std::cout << "\n  Administrator: " << admin << "\n  Password:      " << password
                << "\n  (shown once; set SIMPLEAD_ADMIN_PASSWORD or --admin-password-file to choose it)\n"
                << std::endl;
    }
    WipeString(password);
  }
  SIMPLEAD_RETURN_IF_ERROR(LoadTls());

  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  int workers = config_.workers > 0 ? config_.workers : static_cast<int>(std::max(4u, cores * 2));
  pool_ = std::make_unique<asio::thread_pool>(workers);
  // Updates wait for WAL fsyncs outside the write lock, and concurrent
  // waiters share one: the more updates in flight, the fewer fsyncs each.
  write_pool_ = std::make_unique<asio::thread_pool>(std::max(1, config_.write_workers));
  frontend::FrontendOptions fo;
  fo.require_strong_auth = config_.require_strong_auth;
  fo.loopback_is_remote = config_.loopback_is_remote;
  fo.tls_available = true;
  fo.vendor_version = kVersion;
  fo.audit_successful_binds = config_.audit_successful_binds;
  fo.audit_wait_durable = config_.audit_wait_durable;
  bind_throttle_ = std::make_unique<frontend::BindThrottle>(clock_, config_.bind_throttle);
  frontend_ = std::make_unique<frontend::Frontend>(*directory_, *pool_, *write_pool_, fo, access_log_, &kms_->audit(),
                                                   bind_throttle_.get());
  tracker_ = std::make_unique<net::ConnectionTracker>(config_.listener_limits);

  auto tls_provider = [this] { return tls_.Get(); };
  auto listen = [&](const std::string& address, bool implicit_tls) -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(auto lo, net::ListenerOptionsFor(address, implicit_tls, config_.session_limits,
                                                               config_.listener_limits));
    SIMPLEAD_ASSIGN_OR_RETURN(auto listener, net::Listener::Create(io_, lo, *frontend_, *tracker_, tls_provider));
    log_->info("listening on {}://{}:{}", implicit_tls ? "ldaps" : "ldap", lo.host, listener->port());
    listeners_.push_back(std::move(listener));
    return Status::Ok();
  };
  SIMPLEAD_RETURN_IF_ERROR(listen(config_.listen, false));
  if (!config_.ldaps_listen.empty()) SIMPLEAD_RETURN_IF_ERROR(listen(config_.ldaps_listen, true));
  if (config_.tls_cert_file.empty()) {
    log_->info("TLS CA certificate: {}/tls/ca.pem (LDAPTLS_CACERT=... ldapwhoami -ZZ ...)",
               std::filesystem::absolute(config_.data_dir).string());
  }

  if (!config_.kms_listen.empty()) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto hp, net::ParseHostPort(config_.kms_listen));
    boost::system::error_code aec;
    auto address = asio::ip::make_address(hp.first, aec);
    if (aec) return InternalError("bad --kms-listen address " + hp.first);
    kms::HttpApiOptions ho;
    ho.endpoint = asio::ip::tcp::endpoint(address, hp.second);
    if (config_.kms_tls) ho.tls = tls_.Get().get();
    std::string domain = config_.domain.empty() ? config_.suffix : config_.domain;
    // KMS callers authenticate as directory principals (HTTP Basic: a bind
    // name and password); SigV4 access keys plug into the same seam later.
    auto check = [this, domain](std::string_view user, const SecureBytes& password) -> Result<kms::Caller> {
      if (kms_->IsAdminToken(user, password)) {
        kms::Caller caller;
        caller.principal_id = "kms-admin";
        caller.user_name = "kms-admin";
        caller.arn = "arn:simplead:iam::" + domain + ":role/DirectoryAdmins";
        return caller;
      }
      auto who = directory_->Authenticate(user, password.view());
      if (!who.ok()) return kms::KmsStatus(kms::KmsError::kAccessDenied, "the directory refused these credentials");
      kms::Caller caller;
      caller.principal_id = who->dn;
      caller.user_name = who->dn;
      caller.arn = who->is_admin ? "arn:simplead:iam::" + domain + ":role/DirectoryAdmins"
                                 : "arn:simplead:iam::" + domain + ":user/" + who->normalized_dn;
      return caller;
    };
    SIMPLEAD_ASSIGN_OR_RETURN(kms_http_, kms::HttpApi::Start(io_, kms_->kms(), kms::BasicAuthenticator(check), ho));
    log_->info("KMS API on {}://{}", config_.kms_tls ? "https" : "http", config_.kms_listen);
  }

  // Control socket for simplead-admin (backup of the live store): owner only.
  std::string socket_path = config_.data_dir + "/control.sock";
  std::filesystem::remove(socket_path, ec);
  control_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  boost::system::error_code bec;
  control_->open(asio::local::stream_protocol(), bec);
  mode_t old_mask = ::umask(0077);
  if (!bec) control_->bind(asio::local::stream_protocol::endpoint(socket_path), bec);
  ::umask(old_mask);
  if (!bec) control_->listen(8, bec);
  if (bec) return InternalError("cannot open control socket " + socket_path + ": " + bec.message());
  return Status::Ok();
}

void Server::Reload() {
  log_->info("SIGHUP: reloading TLS certificate");
  Status st = LoadTls();
  if (!st.ok()) log_->error("TLS reload failed, keeping the old certificate: {}", st.ToString());
}

asio::awaitable<void> Server::HandleSignals() {
  while (true) {
    auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (sig == SIGHUP) {
      Reload();
      continue;
    }
    log_->info("signal {}: shutting down", sig);
    Stop();
    co_return;
  }
}

asio::awaitable<void> Server::ControlLoop() {
  while (control_ && control_->is_open()) {
    auto [ec, socket] = co_await control_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::streambuf buf(4096);
    auto [rec, n] = co_await asio::async_read_until(socket, buf, '\n', asio::as_tuple(asio::use_awaitable));
    if (rec) continue;
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    std::string reply;
    if (line.rfind("backup ", 0) == 0) {
      std::string dir = line.substr(7);
      Status st = co_await net::Offload(*pool_, [this, &dir] { return WriteBackup(*directory_, config_.data_dir, dir); });
      reply = st.ok() ? "ok\n" : "error " + st.message() + "\n";
      log_->info("backup to {}: {}", dir, st.ok() ? "ok" : st.ToString());
    } else if (line == "rewrap") {
      size_t count = 0;
      Status st = co_await net::Offload(*pool_, [this, &count] {
        return directory_->RewrapSecrets(
            [this](std::string_view sealed, const backend::SecretContext& context) {
              return kms_->sealer().Rewrap(sealed, context);
            },
            &count);
      });
      reply = st.ok() ? "ok rewrapped=" + std::to_string(count) + "\n" : "error " + st.message() + "\n";
      log_->info("rewrap of stored secrets: {} values, {}", count, st.ok() ? "ok" : st.ToString());
    } else if (line == "status") {
      reply = "ok connections=" + std::to_string(tracker_->total()) + " context_csn=" + directory_->context_csn() + "\n";
    } else {
      reply = "error unknown command\n";
    }
    co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
  }
}

void Server::Stop() {
  asio::post(strand_, [this] {
    for (auto& l : listeners_) l->Stop();
    boost::system::error_code ignored;
    if (control_) control_->close(ignored);
    signals_.cancel();
    if (kms_http_) kms_http_->Stop();
    // Give in-flight operations a moment, then stop the loop.
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
    timer->async_wait([this, timer](auto) { io_.stop(); });
  });
}

int Server::Run() {
  for (auto& l : listeners_) l->Start();
  asio::co_spawn(strand_, HandleSignals(), asio::detached);
  asio::co_spawn(strand_, ControlLoop(), asio::detached);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  int threads = config_.threads > 0 ? config_.threads : static_cast<int>(cores);
  log_->info("simplead {} ready", kVersion);
  std::vector<std::thread> runners;
  for (int i = 1; i < threads; ++i) runners.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : runners) t.join();
  write_pool_->join();
  pool_->join();
  std::error_code ec;
  std::filesystem::remove(config_.data_dir + "/control.sock", ec);
  log_->info("stopped");
  return 0;
}

}  // namespace simplead::server
