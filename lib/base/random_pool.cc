#include "lib/base/random_pool.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace simplead {

RandomPool::~RandomPool() { OPENSSL_cleanse(pool_.data(), pool_.size()); }

void RandomPool::Fill(uint8_t* out, size_t n) {
  while (n > 0) {
    if (used_ == pool_.size()) {
      if (RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) != 1) std::abort();
      used_ = 0;
    }
    size_t take = std::min(n, pool_.size() - used_);
    std::memcpy(out, pool_.data() + used_, take);
    OPENSSL_cleanse(pool_.data() + used_, take);  // handed out once, never kept
    used_ += take;
    out += take;
    n -= take;
  }
}

std::string RandomPool::String(size_t n) {
  std::string out(n, '\0');
  Fill(reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

}  // namespace simplead
