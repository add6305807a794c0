#include "lib/kms/key_store.h"

#include <argon2.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lib/kms/crypto.h"

namespace simplead::kms {
namespace {

constexpr size_t kRootKeySize = 32;
constexpr std::string_view kCheckPlaintext = "simplead-kms-root-key-check";

Status Errno(std::string what) { return InternalError(what + ": " + std::strerror(errno)); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Status EnsureDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return InternalError("cannot create " + path + ": " + ec.message());
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (fd.get() < 0) return Errno("open " + tmp);
    SIMPLEAD_RETURN_IF_ERROR(WriteAll(fd.get(), data));
    if (::fsync(fd.get()) != 0) return Errno("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Error(ResultCode::kNoSuchObject, path + " does not exist");
    return Errno("open " + path);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// ---- FileKeyStore --------------------------------------------------------

Result<std::unique_ptr<FileKeyStore>> FileKeyStore::Init(const std::string& path) {
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes root, RandomSecureBytes(kRootKeySize));
  {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Errno("create root key file " + path);
    if (::fchmod(fd.get(), 0600) != 0) return Errno("chmod " + path);  // umask-proof
    SIMPLEAD_RETURN_IF_ERROR(WriteAll(fd.get(), root.view()));
    if (::fsync(fd.get()) != 0) return Errno("fsync " + path);
  }
  return std::unique_ptr<FileKeyStore>(new FileKeyStore(std::move(root)));
}

Result<std::unique_ptr<FileKeyStore>> FileKeyStore::Open(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return Errno("open root key file " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Errno("stat " + path);
  if ((st.st_mode & 077) != 0) {
    return Error(ResultCode::kUnwillingToPerform,
                 "root key file " + path + " is accessible by group or others; chmod 0600 it");
  }
  if (st.st_size != static_cast<off_t>(kRootKeySize)) {
    return InternalError("root key file " + path + " does not hold a 256-bit key");
  }
  SecureBytes root(kRootKeySize);
  size_t got = 0;
  while (got < kRootKeySize) {
    ssize_t n = ::read(fd.get(), root.data() + got, kRootKeySize - got);
    if (n <= 0) return Errno("read " + path);
    got += static_cast<size_t>(n);
  }
  return std::unique_ptr<FileKeyStore>(new FileKeyStore(std::move(root)));
}

namespace {

Result<std::string> WrapWithRoot(const SecureBytes& root, const SecureBytes& material, std::string_view aad) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string sealed, AesGcmSeal(root, nonce, material.view(), aad));
  return nonce + sealed;
}

Result<SecureBytes> UnwrapWithRoot(const SecureBytes& root, std::string_view wrapped, std::string_view aad) {
  if (wrapped.size() < kGcmNonceSize + kGcmTagSize) return InternalError("wrapped key is truncated");
  auto r = AesGcmOpen(root, wrapped.substr(0, kGcmNonceSize), wrapped.substr(kGcmNonceSize), aad);
  if (!r.ok()) return InternalError("wrapped key does not verify under the root key");
  return r;
}

}  // namespace

Result<std::string> FileKeyStore::Wrap(const SecureBytes& material, std::string_view aad) {
  return WrapWithRoot(root_, material, aad);
}
Result<SecureBytes> FileKeyStore::Unwrap(std::string_view wrapped, std::string_view aad) {
  return UnwrapWithRoot(root_, wrapped, aad);
}

// ---- PassphraseKeyStore --------------------------------------------------

Result<std::unique_ptr<PassphraseKeyStore>> PassphraseKeyStore::OpenOrCreate(const std::string& params_path,
                                                                             const SecureBytes& passphrase,
                                                                             const Argon2Params& wanted) {
  if (passphrase.empty()) return Error(ResultCode::kUnwillingToPerform, "empty KMS passphrase");
  Argon2Params p = wanted;
  std::string salt;
  std::string check;
  auto existing = ReadWholeFile(params_path);
  bool create = !existing.ok() && existing.status().code() == ResultCode::kNoSuchObject;
  if (!existing.ok() && !create) return existing.status();
  if (!create) {
    auto j = nlohmann::json::parse(*existing, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("kdf", "") != "argon2id") {
      return InternalError(params_path + " is not a KMS passphrase parameters file");
    }
    p.t_cost = j.value("t_cost", 0u);
    p.m_cost_kib = j.value("m_cost_kib", 0u);
    p.parallelism = j.value("parallelism", 0u);
    auto s = Base64Decode(j.value("salt", ""));
    auto c = Base64Decode(j.value("check", ""));
    if (!s.ok() || !c.ok() || s->size() < 16) return InternalError(params_path + " is damaged");
    salt = *s;
    check = *c;
  } else {
    SIMPLEAD_ASSIGN_OR_RETURN(salt, RandomString(16));
  }
  SecureBytes root(kRootKeySize);
  int rc = argon2id_hash_raw(p.t_cost, p.m_cost_kib, p.parallelism, passphrase.data(), passphrase.size(),
                             salt.data(), salt.size(), root.data(), root.size());
  if (rc != ARGON2_OK) return InternalError(std::string("argon2id: ") + argon2_error_message(rc));
  if (create) {
    SIMPLEAD_ASSIGN_OR_RETURN(std::string c, WrapWithRoot(root, SecureBytes(kCheckPlaintext), "check"));
    nlohmann::json j = {{"kdf", "argon2id"},        {"t_cost", p.t_cost},
                        {"m_cost_kib", p.m_cost_kib}, {"parallelism", p.parallelism},
                        {"salt", Base64Encode(salt)}, {"check", Base64Encode(c)}};
    SIMPLEAD_RETURN_IF_ERROR(WriteFileAtomically(params_path, j.dump(2) + "\n"));
  } else if (!UnwrapWithRoot(root, check, "check").ok()) {
    return Error(ResultCode::kInvalidCredentials, "wrong KMS passphrase");
  }
  return std::unique_ptr<PassphraseKeyStore>(new PassphraseKeyStore(std::move(root)));
}

Result<std::string> PassphraseKeyStore::Wrap(const SecureBytes& material, std::string_view aad) {
  return WrapWithRoot(root_, material, aad);
}
Result<SecureBytes> PassphraseKeyStore::Unwrap(std::string_view wrapped, std::string_view aad) {
  return UnwrapWithRoot(root_, wrapped, aad);
}

}  // namespace simplead::kms
