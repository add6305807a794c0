#include "lib/kms/http_api.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>

#include "lib/kms/crypto.h"
#include "lib/kms/kms_json.h"

namespace simplead::kms {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpApi::State {
  State(asio::io_context& io, Kms& k, Authenticator a, const HttpApiOptions& o)
      : strand(asio::make_strand(io)),
        acceptor(strand),
        kms(k),
        authenticator(std::move(a)),
        options(o),
        pool(o.worker_threads) {}
  // The accept loop, every connection (accepted sockets take the acceptor's
  // executor) and Stop's closes run on one strand: sockets are not safe to
  // use from two I/O threads at once. Requests are handled on `pool`.
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  Kms& kms;
  Authenticator authenticator;
  HttpApiOptions options;
  asio::thread_pool pool;
  std::mutex mu;
  bool stopped = false;
  std::set<std::shared_ptr<beast::tcp_stream>> connections;  // open plain sockets (lowest layers)
};

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);

Caller UnknownCaller(const HttpRequestInfo& info) {
  Caller c;
  c.type = "Unknown";
  c.source_ip = info.remote_ip;
  auto ua = info.headers.find("user-agent");
  if (ua != info.headers.end()) c.user_agent = ua->second;
  return c;
}

http::response<http::string_body> MakeResponse(const http::request<http::string_body>& req, const JsonResponse& r) {
  http::response<http::string_body> res{static_cast<http::status>(r.http_status), req.version()};
  res.set(http::field::content_type, "application/x-amz-json-1.1");
  res.set("x-amzn-RequestId", NewUuid());
  res.keep_alive(req.keep_alive());
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

// A coroutine (not a capturing coroutine lambda, whose captures do not live
// in the frame) that runs `work` wherever it is spawned.
asio::awaitable<JsonResponse> RunOnPool(std::function<JsonResponse()> work) { co_return work(); }

// Decides and runs one request. Runs KMS work on the pool.
asio::awaitable<JsonResponse> Handle(std::shared_ptr<HttpApi::State> state, HttpRequestInfo info) {
  if (info.method != "POST" || info.target != "/") {
    co_return KmsJsonError(KmsStatus(KmsError::kUnknownOperation, "use POST / with X-Amz-Target"));
  }
  auto target = info.headers.find("x-amz-target");
  constexpr std::string_view kPrefix = "TrentService.";
  if (target == info.headers.end() || target->second.rfind(kPrefix, 0) != 0) {
    co_return KmsJsonError(KmsStatus(KmsError::kUnknownOperation, "missing or unknown X-Amz-Target"));
  }
  std::string operation = target->second.substr(kPrefix.size());
  auto ct = info.headers.find("content-type");
  if (ct != info.headers.end() && ct->second.rfind("application/x-amz-json-1.1", 0) != 0 &&
      ct->second.rfind("application/json", 0) != 0) {
    co_return KmsJsonError(KmsStatus(KmsError::kSerialization, "Content-Type must be application/x-amz-json-1.1"));
  }
  auto work = [state, info = std::move(info), operation]() -> JsonResponse {
    auto caller = state->authenticator ? state->authenticator(info)
                                       : Result<Caller>(KmsStatus(KmsError::kUnauthenticated, "no authenticator"));
    if (caller.ok() && caller->is_service()) {
      caller = KmsStatus(KmsError::kUnauthenticated, "service identities cannot call over HTTP");
    }
    if (!caller.ok()) {
      Status st = caller.status();
      if (KmsErrorName(st) == "KMSInternalException" && st.code() != ResultCode::kOther) {
        st = KmsStatus(KmsError::kUnauthenticated, "authentication failed: " + st.message());
      }
      return KmsJsonError(state->kms.AuditRejectedCall(UnknownCaller(info), operation, st));
    }
    caller->source_ip = info.remote_ip;
    auto ua = info.headers.find("user-agent");
    if (ua != info.headers.end()) caller->user_agent = ua->second;
    return HandleKmsJson(state->kms, *caller, operation, info.body);
  };
  co_return co_await asio::co_spawn(state->pool.get_executor(), RunOnPool(std::move(work)), asio::use_awaitable);
}

template <typename Stream>
asio::awaitable<void> Serve(std::shared_ptr<HttpApi::State> state, Stream& stream, std::string remote_ip) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    http::request_parser<http::string_body> parser;
    parser.body_limit(state->options.max_body_bytes);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // closed, timed out, or malformed: drop the connection
    auto req = parser.release();
    HttpRequestInfo info;
    info.method = std::string(req.method_string());
    info.target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.headers[name] = std::string(f.value());
    }
    info.body = req.body();
    info.remote_ip = remote_ip;
    JsonResponse r = co_await Handle(state, std::move(info));
    auto res = MakeResponse(req, r);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> Session(std::shared_ptr<HttpApi::State> state, tcp::socket socket) {
  std::string remote_ip;
  beast::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (!ec) remote_ip = peer.address().to_string();
  if (state->options.tls != nullptr) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *state->options.tls);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) co_return;
    co_await Serve(state, stream, remote_ip);
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  } else {
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    {
      std::lock_guard lock(state->mu);
      if (state->stopped) co_return;
      state->connections.insert(stream);
    }
    co_await Serve(state, *stream, remote_ip);
    beast::error_code sec;
    stream->socket().shutdown(tcp::socket::shutdown_send, sec);
    std::lock_guard lock(state->mu);
    state->connections.erase(stream);
  }
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<HttpApi::State> state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(state->acceptor.get_executor(), Session(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

Authenticator BasicAuthenticator(PasswordCheck check) {
  return [check = std::move(check)](const HttpRequestInfo& info) -> Result<Caller> {
    auto it = info.headers.find("authorization");
    constexpr std::string_view kBasic = "Basic ";
    if (it == info.headers.end() || it->second.rfind(kBasic, 0) != 0) {
      return KmsStatus(KmsError::kUnauthenticated, "HTTP Basic credentials are required");
    }
    auto decoded = Base64Decode(std::string_view(it->second).substr(kBasic.size()));
    if (!decoded.ok()) return KmsStatus(KmsError::kUnauthenticated, "malformed Basic credentials");
    SecureBytes creds(*decoded);
    WipeString(*decoded);
    std::string_view text = creds.view();
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return KmsStatus(KmsError::kUnauthenticated, "malformed Basic credentials");
    SecureBytes password(text.substr(colon + 1));
    auto caller = check(text.substr(0, colon), password);
    if (!caller.ok()) {
      return KmsStatus(KmsError::kUnauthenticated, "the user name or password is not valid");
    }
    return caller;
  };
}

Result<std::unique_ptr<HttpApi>> HttpApi::Start(asio::io_context& io, Kms& kms, Authenticator authenticator,
                                                const HttpApiOptions& options) {
  auto state = std::make_shared<State>(io, kms, std::move(authenticator), options);
  beast::error_code ec;
  state->acceptor.open(options.endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(options.endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(ResultCode::kUnavailable, "KMS HTTP API cannot listen: " + ec.message());
  asio::co_spawn(state->strand, AcceptLoop(state), asio::detached);
  return std::unique_ptr<HttpApi>(new HttpApi(state));
}

HttpApi::~HttpApi() { Stop(); }

tcp::endpoint HttpApi::local_endpoint() const {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void HttpApi::Stop() {
  auto state = state_;
  // Sockets belong to the io_context: close them on its executor.
  asio::post(state->acceptor.get_executor(), [state] {
    beast::error_code ec;
    state->acceptor.close(ec);
    std::lock_guard lock(state->mu);
    state->stopped = true;
    for (const auto& c : state->connections) c->socket().close(ec);
    state->connections.clear();
  });
}

}  // namespace simplead::kms
