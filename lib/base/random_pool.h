// Random bytes for callers that draw many small amounts (nonces, salts,
// GUIDs): OpenSSL's DRBG is asked for 4 KiB at a time, since each RAND_bytes
// call has a fixed cost (locking, reseed checks) that dwarfs 16 bytes of
// output. Bytes are handed out once and wiped as they leave the pool.
#ifndef SIMPLEAD_LIB_BASE_RANDOM_POOL_H_
#define SIMPLEAD_LIB_BASE_RANDOM_POOL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace simplead {

// Thread-compatible: guard it with the caller's lock.
class RandomPool {
 public:
  RandomPool() = default;
  RandomPool(const RandomPool&) = delete;
  RandomPool& operator=(const RandomPool&) = delete;
  ~RandomPool();

  // Aborts if the DRBG fails: nothing can go on safely without randomness.
  void Fill(uint8_t* out, size_t n);
  std::string String(size_t n);

 private:
  std::array<uint8_t, 4096> pool_{};
  size_t used_ = sizeof(pool_);
};

}  // namespace simplead

#endif  // SIMPLEAD_LIB_BASE_RANDOM_POOL_H_
