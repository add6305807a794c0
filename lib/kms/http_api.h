// HttpApi: the KMS over HTTP, in AWS KMS's JSON 1.1 protocol: POST / with
// `X-Amz-Target: TrentService.<Operation>` and
// `Content-Type: application/x-amz-json-1.1`, a JSON request body, a JSON
// response (kms_json.h). Served with Boost.Beast on C++20 coroutines on the
// caller's io_context, on one (loopback) endpoint, with TLS when an
// ssl::context is given. KMS calls run on a small worker pool (they fsync
// the audit trail and may call a PKCS#11 token).
//
// Authentication is a pluggable Authenticator that sees the whole request
// (headers, body, peer), so AWS SigV4 access keys can be added beside HTTP
// Basic without touching the server. An Authenticator must never return a
// service Caller (type "AWSService"); such callers are refused.
//
// Start/Stop/local_endpoint may be called from any thread; the HttpApi must
// outlive neither the io_context's run nor the Kms.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"
#include "lib/kms/kms.h"

namespace boost::asio::ssl {
class context;
}

namespace simplead::kms {

struct HttpRequestInfo {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote_ip;
};

using Authenticator = std::function<Result<Caller>(const HttpRequestInfo&)>;

// Checks a user name and password (e.g. a directory bind) and names the caller.
using PasswordCheck = std::function<Result<Caller>(std::string_view user, const SecureBytes& password)>;

// An Authenticator for `Authorization: Basic base64(user:password)`.
Authenticator BasicAuthenticator(PasswordCheck check);

struct HttpApiOptions {
  boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::address_v4::loopback(), 0};
  boost::asio::ssl::context* tls = nullptr;  // borrowed; plain HTTP when null
  size_t max_body_bytes = 64 * 1024;
  size_t worker_threads = 2;
};

class HttpApi {
 public:
  // Binds and starts accepting. Port 0 picks a free port (see local_endpoint).
  static Result<std::unique_ptr<HttpApi>> Start(boost::asio::io_context& io, Kms& kms, Authenticator authenticator,
                                                const HttpApiOptions& options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting and closes open connections.
  void Stop();

  struct State;

 private:
  explicit HttpApi(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace simplead::kms
