#include "lib/net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "lib/ldap/codec.h"
#include "lib/net/host_port.h"

namespace simplead::net {

namespace asio = boost::asio;
using asio::ip::tcp;

std::shared_ptr<void> ConnectionTracker::Acquire(const std::string& address, std::string* why) {
  std::lock_guard lock(mu_);
  if (total_.load() >= limits_.max_connections) {
    *why = "server connection limit reached (" + std::to_string(limits_.max_connections) + ")";
    return nullptr;
  }
  size_t& mine = per_address_[address];
  if (mine >= limits_.max_connections_per_address) {
    *why = "connection limit per client address reached (" + std::to_string(limits_.max_connections_per_address) +
           ")";
    if (mine == 0) per_address_.erase(address);
    return nullptr;
  }
  ++mine;
  ++total_;
  // The slot gives itself back when the last owner drops it.
  struct Slot {
    ConnectionTracker* tracker;
    std::string address;
    ~Slot() { tracker->Release(address); }
  };
  return std::make_shared<Slot>(this, address);
}

void ConnectionTracker::Release(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  --total_;
}

void ConnectionTracker::set_limits(ListenerLimits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

namespace {
// The slot is held for the session's life. A plain coroutine function: GCC 12
// mishandles capturing coroutine lambdas (see offload.h).
asio::awaitable<void> RunSession(std::shared_ptr<Session> session, std::shared_ptr<void> slot) {
  co_await session->Run();
  slot.reset();
}
}  // namespace

Result<ListenerOptions> ListenerOptionsFor(std::string_view address, bool implicit_tls,
                                           const SessionLimits& session_limits,
                                           const ListenerLimits& listener_limits) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto host_port, ParseHostPort(address));
  ListenerOptions options;
  options.host = std::move(host_port.first);
  options.port = host_port.second;
  options.implicit_tls = implicit_tls;
  options.session_limits = session_limits;
  options.listener_limits = listener_limits;
  return options;
}

Result<std::unique_ptr<Listener>> Listener::Create(asio::io_context& io, const ListenerOptions& options,
                                                   RequestHandler& handler, ConnectionTracker& tracker,
                                                   Session::TlsContextProvider tls) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Status(ResultCode::kOther, "bad listen address '" + options.host + "': " + ec.message());
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(ResultCode::kOther,
                  "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
  }
  return std::unique_ptr<Listener>(new Listener(io, std::move(acceptor), options, handler, tracker, std::move(tls)));
}

Listener::Listener(asio::io_context& io, tcp::acceptor acceptor, const ListenerOptions& options,
                   RequestHandler& handler, ConnectionTracker& tracker, Session::TlsContextProvider tls)
    : io_(io),
      strand_(boost::asio::make_strand(io)),
      acceptor_(std::move(acceptor)),
      options_(options),
      handler_(handler),
      tracker_(tracker),
      tls_(std::move(tls)) {
  port_ = acceptor_.local_endpoint().port();
}

void Listener::set_session_limits(const SessionLimits& limits) {
  std::lock_guard lock(limits_mu_);
  options_.session_limits = limits;
}

void Listener::Start() { asio::co_spawn(strand_, AcceptLoop(), asio::detached); }

void Listener::Stop() {
  asio::post(strand_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> Listener::AcceptLoop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored);
    std::string why;
    auto slot = tracker_.Acquire(remote.address().to_string(), &why);
    if (!slot) {
      if (!options_.implicit_tls) {
        // Best effort: tell the client why before closing (the socket is new, so this does not block).
        std::string notice = ldap::EncodeNoticeOfDisconnection(ResultCode::kBusy, why);
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(notice), ignored);
      }
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      continue;
    }
    SessionLimits limits;
    {
      std::lock_guard lock(limits_mu_);
      limits = options_.session_limits;
    }
    auto session = std::make_shared<Session>(std::move(socket), next_session_id_++, handler_, limits, tls_,
                                             options_.implicit_tls);
    asio::co_spawn(session->executor(), RunSession(session, std::move(slot)), asio::detached);
  }
}

}  // namespace simplead::net
