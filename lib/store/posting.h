// posting: the value format of the index column family. An index key names
// one chunk of 65,536 entry ids (id >> 16); its value is the set of the low
// 16 bits of the ids in that chunk, either a sorted array or, once dense, a
// bitmap (the Roaring idea). Writes reach a chunk as Deltas (RocksDB merge
// operands): ids to add and ids to remove.
//
// Encodings (docs/storage-format.md, "Posting lists"):
//   ""                        empty chunk (reads treat it as absent)
//   0x01 u16be*               array, strictly ascending, 1..65536 ids
//   0x02 8192 bytes           bitmap: id v is bit (v & 7) of byte v >> 3
//   0x03 varint(n) u16be*n varint(m) u16be*m
//                             delta: n ids added, m removed; each list
//                             strictly ascending, the two disjoint
// Encode always picks the array for <= kArrayMax ids and the bitmap above;
// decoders accept either form at any size, so the switch point can move.
//
// All functions are pure and thread-safe; decoders reject malformed bytes
// (nullopt / false) and never read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simplead::store::posting {

inline constexpr size_t kArrayMax = 4096;  // 8 KiB as an array = the bitmap's size
inline constexpr size_t kBitmapBytes = 8192;
inline constexpr uint8_t kArrayTag = 0x01;
inline constexpr uint8_t kBitmapTag = 0x02;
inline constexpr uint8_t kDeltaTag = 0x03;

// Changes to one chunk. Applying a Delta removes `removes` then adds `adds`;
// as the lists are disjoint the order does not matter.
struct Delta {
  std::vector<uint16_t> adds;     // strictly ascending
  std::vector<uint16_t> removes;  // strictly ascending, disjoint from adds

  bool empty() const { return adds.empty() && removes.empty(); }
  // This delta followed by `later` (per id, the later op wins).
  void Then(const Delta& later);
  std::string Encode() const;
  static std::optional<Delta> Decode(std::string_view bytes);
};

// One chunk's ids, decoded and mutable.
class Chunk {
 public:
  Chunk() = default;
  static std::optional<Chunk> Decode(std::string_view bytes);

  bool Contains(uint16_t v) const;
  void Add(uint16_t v);
  void Remove(uint16_t v);
  void Apply(const Delta& delta);
  size_t Cardinality() const { return bitmap_.empty() ? array_.size() : bitmap_count_; }
  bool empty() const { return Cardinality() == 0; }
  bool is_bitmap() const { return !bitmap_.empty(); }
  std::vector<uint16_t> Ids() const;  // ascending
  // Canonical bytes; "" when empty.
  std::string Encode() const;

 private:
  void Normalize();  // array <= kArrayMax < bitmap
  std::vector<uint16_t> array_;   // used while bitmap_ is empty
  std::vector<uint64_t> bitmap_;  // 1024 words when dense
  size_t bitmap_count_ = 0;
};

// Reads straight from stored bytes, without decoding into a Chunk.
// Cardinality of a value (not a delta); nullopt if malformed.
std::optional<size_t> EncodedCardinality(std::string_view bytes);
// Calls fn(low) in ascending order until it returns false (*stopped = true).
// Returns false if the bytes are malformed (fn may have seen a prefix).
template <typename Fn>
bool ForEachEncoded(std::string_view bytes, Fn&& fn, bool* stopped);
// Whether a value (not a delta) holds `low`: a bit test or a binary search,
// without visiting the other ids. nullopt if malformed (an array's order is
// not checked: a disordered one answers wrongly, never out of bounds).
std::optional<bool> EncodedContains(std::string_view bytes, uint16_t low);

// ---- implementation of the template -------------------------------------

namespace internal {
bool ValidArray(std::string_view body);
// Bitmap word w holds ids w*64 .. w*64+63: bytes 8w .. 8w+7, little-endian.
inline uint64_t LoadWord(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace internal

template <typename Fn>
bool ForEachEncoded(std::string_view bytes, Fn&& fn, bool* stopped) {
  *stopped = false;
  if (bytes.empty()) return true;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  if (p[0] == kArrayTag) {
    if (!internal::ValidArray(bytes.substr(1))) return false;
    for (size_t i = 1; i + 1 < n; i += 2) {
      if (!fn(static_cast<uint16_t>((p[i] << 8) | p[i + 1]))) {
        *stopped = true;
        return true;
      }
    }
    return true;
  }
  if (p[0] == kBitmapTag && n == 1 + kBitmapBytes) {
    for (size_t w = 0; w < kBitmapBytes / 8; ++w) {
      uint64_t word = internal::LoadWord(p + 1 + w * 8);
      while (word != 0) {
        int bit = __builtin_ctzll(word);
        word &= word - 1;
        if (!fn(static_cast<uint16_t>(w * 64 + bit))) {
          *stopped = true;
          return true;
        }
      }
    }
    return true;
  }
  return false;
}

}  // namespace simplead::store::posting
