// TLS server contexts: TLS 1.2 and 1.3 only, modern AEAD ciphers, from PEM
// files; and a self-signed CA plus a server certificate for the embedded
// default. A context is immutable once built and shared by sessions; reload
// builds a new one (TlsContextHolder swaps it atomically).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/base/status.h"

namespace simplead::net {

struct TlsFiles {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
};

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

// Creates <dir>/ca.pem, <dir>/ca.key, <dir>/server.pem, <dir>/server.key (keys
// mode 0600) unless server.pem already exists. The server certificate names
// `hostnames` (DNS) and 127.0.0.1 / ::1 (IP).
Result<TlsFiles> EnsureSelfSignedCertificates(const std::string& dir, const std::vector<std::string>& hostnames);

// Holds the current context; Get() is cheap and thread-safe.
class TlsContextHolder {
 public:
  std::shared_ptr<boost::asio::ssl::context> Get() const {
    std::lock_guard lock(mu_);
    return context_;
  }
  void Set(std::shared_ptr<boost::asio::ssl::context> context) {
    std::lock_guard lock(mu_);
    context_ = std::move(context);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace simplead::net
