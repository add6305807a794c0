#include "lib/net/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace simplead::net {

namespace {

namespace ssl = boost::asio::ssl;

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct FileClose { void operator()(FILE* f) const { std::fclose(f); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string OpenSslError() {
  unsigned long err = ERR_get_error();
  if (err == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof buf);
  return buf;
}

PkeyPtr NewKey() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                         const std::string& san, long serial) {
  X509Ptr cert(X509_new());
  if (!cert) return InternalError("X509_new: " + OpenSslError());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 825);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("SimpleAD"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                             0);
  X509* actual_issuer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(actual_issuer));
  bool ok = true;
  if (is_ca) {
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_key_usage, "critical,digitalSignature,keyAgreement");
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_ext_key_usage, "serverAuth");
    ok = ok && AddExtension(cert.get(), actual_issuer, NID_subject_alt_name, san);
  }
  ok = ok && AddExtension(cert.get(), actual_issuer, NID_subject_key_identifier, "hash");
  if (!ok) return InternalError("certificate extensions: " + OpenSslError());
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    return InternalError("X509_sign: " + OpenSslError());
  }
  return cert;
}

Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  // Keys are created 0600 from the start, never chmod-ed after the fact.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, key ? 0600 : 0644);
  if (fd < 0) return InternalError("cannot write " + path);
  std::unique_ptr<FILE, FileClose> f(fdopen(fd, "w"));
  if (!f) return InternalError("cannot write " + path);
  bool ok = cert ? PEM_write_X509(f.get(), cert) == 1
                 : PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (!ok) return InternalError("cannot write PEM to " + path + ": " + OpenSslError());
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only. TLS 1.3 suites are all AEAD.
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  if (SSL_CTX_use_certificate_chain_file(native, files.cert_file.c_str()) != 1) {
    return Status(ResultCode::kOther, "cannot load TLS certificate " + files.cert_file + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(native, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status(ResultCode::kOther, "cannot load TLS key " + files.key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status(ResultCode::kOther, "TLS key " + files.key_file + " does not match " + files.cert_file);
  }
  return context;
}

Result<TlsFiles> EnsureSelfSignedCertificates(const std::string& dir, const std::vector<std::string>& hostnames) {
  TlsFiles files{dir + "/server.pem", dir + "/server.key"};
  std::error_code ec;
  if (std::filesystem::exists(files.cert_file, ec) && std::filesystem::exists(files.key_file, ec)) return files;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("cannot create " + dir + ": " + ec.message());
  PkeyPtr ca_key = NewKey();
  PkeyPtr server_key = NewKey();
  if (!ca_key || !server_key) return InternalError("key generation failed: " + OpenSslError());
  SIMPLEAD_ASSIGN_OR_RETURN(X509Ptr ca, MakeCert(ca_key.get(), "SimpleAD local CA", nullptr, nullptr, true, "", 1));
  std::string san = "IP:127.0.0.1,IP:::1,DNS:localhost";
  for (const auto& host : hostnames) san += ",DNS:" + host;
  SIMPLEAD_ASSIGN_OR_RETURN(
      X509Ptr server,
      MakeCert(server_key.get(), hostnames.empty() ? "localhost" : hostnames.front(), ca.get(), ca_key.get(), false,
               san, static_cast<long>(time(nullptr))));
  SIMPLEAD_RETURN_IF_ERROR(WritePem(dir + "/ca.pem", ca.get(), nullptr));
  SIMPLEAD_RETURN_IF_ERROR(WritePem(dir + "/ca.key", nullptr, ca_key.get()));
  SIMPLEAD_RETURN_IF_ERROR(WritePem(files.key_file, nullptr, server_key.get()));
  // The chain file carries the leaf then the CA.
  std::string chain_tmp = files.cert_file + ".tmp";
  {
    int fd = ::open(chain_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return InternalError("cannot write " + chain_tmp);
    std::unique_ptr<FILE, FileClose> f(fdopen(fd, "w"));
    if (!f || PEM_write_X509(f.get(), server.get()) != 1 || PEM_write_X509(f.get(), ca.get()) != 1) {
      return InternalError("cannot write " + chain_tmp);
    }
  }
  std::filesystem::rename(chain_tmp, files.cert_file, ec);
  if (ec) return InternalError("cannot write " + files.cert_file + ": " + ec.message());
  return files;
}

}  // namespace simplead::net
