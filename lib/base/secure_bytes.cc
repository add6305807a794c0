#include "lib/base/secure_bytes.h"

#include <openssl/crypto.h>

#include <cstring>

namespace simplead {

SecureBytes::SecureBytes(const void* data, size_t size) : data_(size) {
  if (size > 0) std::memcpy(data_.data(), data, size);
}

SecureBytes& SecureBytes::operator=(const SecureBytes& other) {
  if (this != &other) {
    Wipe();
    data_.assign(other.data_.begin(), other.data_.end());
  }
  return *this;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
  }
  return *this;
}

void SecureBytes::resize(size_t n) {
  if (n <= data_.capacity()) {
    if (n < data_.size()) OPENSSL_cleanse(data_.data() + n, data_.size() - n);
    data_.resize(n);
    return;
  }
  std::vector<uint8_t> bigger(n);
  if (!data_.empty()) std::memcpy(bigger.data(), data_.data(), data_.size());
  Wipe();
  data_ = std::move(bigger);
}

void SecureBytes::Wipe() {
  if (!data_.empty()) OPENSSL_cleanse(data_.data(), data_.size());
  data_.clear();
}

bool SecureBytes::operator==(const SecureBytes& other) const {
  return data_.size() == other.data_.size() &&
         (data_.empty() || CRYPTO_memcmp(data_.data(), other.data_.data(), data_.size()) == 0);
}

void WipeString(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace simplead
