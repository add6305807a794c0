#include "lib/store/posting.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>

#include "lib/store/keys.h"

namespace simplead::store::posting {
namespace {

constexpr size_t kWords = kBitmapBytes / 8;

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

// Set bits in `words` 8-byte words (byte order does not change a count).
// Cloned for CPUs with POPCNT: Debian's x86-64 baseline lacks it, and the
// generic popcount (a libgcc call per word) cost 5 % of a substring search.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
size_t CountBits(const uint8_t* p, size_t words) {
  size_t n = 0;
  for (size_t w = 0; w < words; ++w) {
    uint64_t v = 0;
    std::memcpy(&v, p + 8 * w, 8);
    n += static_cast<size_t>(std::popcount(v));
  }
  return n;
}

uint16_t LoadU16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

// Reads `count` strictly ascending u16s from *in.
bool GetAscending(std::string_view* in, uint64_t count, std::vector<uint16_t>* out) {
  if (count > 65536 || in->size() < count * 2) return false;
  out->clear();
  out->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint16_t v = LoadU16(in->data() + i * 2);
    if (!out->empty() && v <= out->back()) return false;
    out->push_back(v);
  }
  in->remove_prefix(count * 2);
  return true;
}

std::vector<uint16_t> Minus(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  std::vector<uint16_t> r;
  r.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r));
  return r;
}

std::vector<uint16_t> Union(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  std::vector<uint16_t> r;
  r.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r));
  return r;
}

bool Disjoint(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return false;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return true;
}

}  // namespace

namespace internal {
bool ValidArray(std::string_view body) {
  if (body.empty() || body.size() % 2 != 0 || body.size() > 2 * 65536) return false;
  for (size_t i = 2; i < body.size(); i += 2) {
    if (LoadU16(body.data() + i) <= LoadU16(body.data() + i - 2)) return false;
  }
  return true;
}
}  // namespace internal

// ---- Delta -----------------------------------------------------------------

void Delta::Then(const Delta& later) {
  adds = Union(Minus(adds, later.removes), later.adds);
  removes = Union(Minus(removes, later.adds), later.removes);
}

std::string Delta::Encode() const {
  std::string out;
  out.reserve(1 + 2 * (adds.size() + removes.size()) + 6);
  out.push_back(static_cast<char>(kDeltaTag));
  keys::PutVarint64(&out, adds.size());
  for (uint16_t v : adds) PutU16(&out, v);
  keys::PutVarint64(&out, removes.size());
  for (uint16_t v : removes) PutU16(&out, v);
  return out;
}

std::optional<Delta> Delta::Decode(std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kDeltaTag) return std::nullopt;
  bytes.remove_prefix(1);
  Delta d;
  uint64_t n = 0;
  if (!keys::GetVarint64(&bytes, &n) || !GetAscending(&bytes, n, &d.adds)) return std::nullopt;
  if (!keys::GetVarint64(&bytes, &n) || !GetAscending(&bytes, n, &d.removes)) return std::nullopt;
  if (!bytes.empty() || !Disjoint(d.adds, d.removes)) return std::nullopt;
  return d;
}

// ---- Chunk -----------------------------------------------------------------

std::optional<Chunk> Chunk::Decode(std::string_view bytes) {
  Chunk c;
  if (bytes.empty()) return c;
  const auto tag = static_cast<uint8_t>(bytes[0]);
  if (tag == kArrayTag) {
    std::string_view body = bytes.substr(1);
    if (!internal::ValidArray(body)) return std::nullopt;
    c.array_.resize(body.size() / 2);
    for (size_t i = 0; i < c.array_.size(); ++i) c.array_[i] = LoadU16(body.data() + 2 * i);
  } else if (tag == kBitmapTag && bytes.size() == 1 + kBitmapBytes) {
    c.bitmap_.resize(kWords);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data() + 1);
    for (size_t w = 0; w < kWords; ++w) c.bitmap_[w] = internal::LoadWord(p + 8 * w);
    c.bitmap_count_ = CountBits(p, kWords);
  } else {
    return std::nullopt;
  }
  c.Normalize();
  return c;
}

bool Chunk::Contains(uint16_t v) const {
  if (is_bitmap()) return (bitmap_[v >> 6] >> (v & 63)) & 1;
  return std::binary_search(array_.begin(), array_.end(), v);
}

void Chunk::Add(uint16_t v) {
  if (is_bitmap()) {
    uint64_t& w = bitmap_[v >> 6];
    const uint64_t bit = uint64_t{1} << (v & 63);
    if (!(w & bit)) {
      w |= bit;
      ++bitmap_count_;
    }
    return;
  }
  auto it = std::lower_bound(array_.begin(), array_.end(), v);
  if (it != array_.end() && *it == v) return;
  array_.insert(it, v);
  Normalize();
}

void Chunk::Remove(uint16_t v) {
  if (is_bitmap()) {
    uint64_t& w = bitmap_[v >> 6];
    const uint64_t bit = uint64_t{1} << (v & 63);
    if (w & bit) {
      w &= ~bit;
      --bitmap_count_;
      Normalize();
    }
    return;
  }
  auto it = std::lower_bound(array_.begin(), array_.end(), v);
  if (it != array_.end() && *it == v) array_.erase(it);
}

void Chunk::Apply(const Delta& delta) {
  if (is_bitmap()) {
    for (uint16_t v : delta.removes) {
      uint64_t& w = bitmap_[v >> 6];
      const uint64_t bit = uint64_t{1} << (v & 63);
      bitmap_count_ -= (w & bit) ? 1 : 0;
      w &= ~bit;
    }
    for (uint16_t v : delta.adds) {
      uint64_t& w = bitmap_[v >> 6];
      const uint64_t bit = uint64_t{1} << (v & 63);
      bitmap_count_ += (w & bit) ? 0 : 1;
      w |= bit;
    }
  } else {
    // Linear merges: the lists and the array are all sorted.
    array_ = Union(delta.removes.empty() ? array_ : Minus(array_, delta.removes), delta.adds);
  }
  Normalize();
}

std::vector<uint16_t> Chunk::Ids() const {
  if (!is_bitmap()) return array_;
  std::vector<uint16_t> ids;
  ids.reserve(bitmap_count_);
  for (size_t w = 0; w < kWords; ++w) {
    for (uint64_t word = bitmap_[w]; word != 0; word &= word - 1) {
      ids.push_back(static_cast<uint16_t>(w * 64 + static_cast<size_t>(std::countr_zero(word))));
    }
  }
  return ids;
}

void Chunk::Normalize() {
  if (is_bitmap() && bitmap_count_ <= kArrayMax) {
    array_ = Ids();
    bitmap_.clear();
    bitmap_.shrink_to_fit();
    bitmap_count_ = 0;
  } else if (!is_bitmap() && array_.size() > kArrayMax) {
    bitmap_.assign(kWords, 0);
    for (uint16_t v : array_) bitmap_[v >> 6] |= uint64_t{1} << (v & 63);
    bitmap_count_ = array_.size();
    array_.clear();
    array_.shrink_to_fit();
  }
}

std::string Chunk::Encode() const {
  std::string out;
  if (empty()) return out;
  if (is_bitmap()) {
    out.resize(1 + kBitmapBytes);
    out[0] = static_cast<char>(kBitmapTag);
    for (size_t w = 0; w < kWords; ++w) {
      uint64_t word = bitmap_[w];
      for (size_t i = 0; i < 8; ++i) {
        out[1 + 8 * w + i] = static_cast<char>(word & 0xFF);
        word >>= 8;
      }
    }
    return out;
  }
  out.reserve(1 + 2 * array_.size());
  out.push_back(static_cast<char>(kArrayTag));
  for (uint16_t v : array_) PutU16(&out, v);
  return out;
}

std::optional<size_t> EncodedCardinality(std::string_view bytes) {
  if (bytes.empty()) return 0;
  const auto tag = static_cast<uint8_t>(bytes[0]);
  if (tag == kArrayTag) {
    // Order is checked by readers that visit ids; a count needs only the shape.
    if (bytes.size() < 3 || bytes.size() % 2 == 0 || bytes.size() > 1 + 2 * 65536) return std::nullopt;
    return (bytes.size() - 1) / 2;
  }
  if (tag == kBitmapTag && bytes.size() == 1 + kBitmapBytes) {
    return CountBits(reinterpret_cast<const uint8_t*>(bytes.data() + 1), kWords);
  }
  return std::nullopt;
}

std::optional<bool> EncodedContains(std::string_view bytes, uint16_t low) {
  if (bytes.empty()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (p[0] == kArrayTag) {
    if (bytes.size() < 3 || bytes.size() % 2 == 0 || bytes.size() > 1 + 2 * 65536) return std::nullopt;
    size_t lo = 0;
    size_t hi = (bytes.size() - 1) / 2;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      auto v = static_cast<uint16_t>((p[1 + 2 * mid] << 8) | p[2 + 2 * mid]);
      if (v == low) return true;
      if (v < low) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return false;
  }
  if (p[0] == kBitmapTag && bytes.size() == 1 + kBitmapBytes) return ((p[1 + (low >> 3)] >> (low & 7)) & 1) != 0;
  return std::nullopt;
}

}  // namespace simplead::store::posting
