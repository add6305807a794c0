// SecureBytes: an owned byte buffer for secrets (passwords, key material) that
// wipes itself on destruction and on reassignment. Not thread-safe; move it,
// don't share it. Never log its contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace simplead {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size) : data_(size) {}
  SecureBytes(const void* data, size_t size);
  explicit SecureBytes(std::string_view text) : SecureBytes(text.data(), text.size()) {}
  SecureBytes(const SecureBytes& other) : SecureBytes(other.data(), other.size()) {}
  SecureBytes& operator=(const SecureBytes& other);
  SecureBytes(SecureBytes&& other) noexcept : data_(std::move(other.data_)) {}
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  ~SecureBytes() { Wipe(); }

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void resize(size_t n);  // wipes the old storage if it reallocates
  std::string_view view() const { return {reinterpret_cast<const char*>(data_.data()), data_.size()}; }

  // Overwrite with zeros (not optimised away) and empty the buffer.
  void Wipe();

  bool operator==(const SecureBytes& other) const;  // constant time in the length

 private:
  std::vector<uint8_t> data_;
};

// Wipe a std::string that held a secret (e.g. a password from a PDU).
void WipeString(std::string& s);

}  // namespace simplead
