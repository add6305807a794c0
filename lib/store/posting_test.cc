#include "lib/store/posting.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace simplead::store::posting {
namespace {

std::vector<uint16_t> Visit(std::string_view bytes) {
  std::vector<uint16_t> out;
  bool stopped = false;
  EXPECT_TRUE(ForEachEncoded(
      bytes,
      [&](uint16_t v) {
        out.push_back(v);
        return true;
      },
      &stopped));
  return out;
}

Chunk ChunkOf(uint32_t first, uint32_t count, uint32_t step = 1) {
  Chunk c;
  for (uint32_t i = 0; i < count; ++i) c.Add(static_cast<uint16_t>(first + i * step));
  return c;
}

TEST(PostingTest, EmptyChunkEncodesAsNothing) {
  Chunk c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.Encode(), "");
  EXPECT_EQ(EncodedCardinality(""), 0u);
  EXPECT_TRUE(Visit("").empty());
  ASSERT_TRUE(Chunk::Decode(""));
  EXPECT_TRUE(Chunk::Decode("")->empty());
}

TEST(PostingTest, AddRemoveAndContains) {
  Chunk c;
  c.Add(7);
  c.Add(3);
  c.Add(65535);
  c.Add(7);  // duplicate: no effect
  EXPECT_EQ(c.Cardinality(), 3u);
  EXPECT_TRUE(c.Contains(3));
  EXPECT_FALSE(c.Contains(4));
  c.Remove(3);
  c.Remove(4);  // absent: no effect
  EXPECT_EQ(c.Ids(), (std::vector<uint16_t>{7, 65535}));
}

TEST(PostingTest, ArrayRoundTripsAndIteratesAscending) {
  Chunk c = ChunkOf(0, 400, 97);
  std::string bytes = c.Encode();
  EXPECT_EQ(bytes.size(), 1 + 2 * 400u);
  EXPECT_EQ(EncodedCardinality(bytes), 400u);
  EXPECT_EQ(Visit(bytes), c.Ids());
  auto back = Chunk::Decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->Ids(), c.Ids());
  EXPECT_FALSE(back->is_bitmap());
}

TEST(PostingTest, SwitchesToBitmapAboveArrayMaxAndBack) {
  Chunk c = ChunkOf(0, kArrayMax);
  EXPECT_FALSE(c.is_bitmap());
  c.Add(static_cast<uint16_t>(kArrayMax));
  EXPECT_TRUE(c.is_bitmap());
  std::string bytes = c.Encode();
  EXPECT_EQ(bytes.size(), 1 + kBitmapBytes);
  EXPECT_EQ(EncodedCardinality(bytes), kArrayMax + 1);
  EXPECT_EQ(Visit(bytes), c.Ids());
  auto back = Chunk::Decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->is_bitmap());
  EXPECT_EQ(back->Cardinality(), kArrayMax + 1);
  back->Remove(0);
  EXPECT_FALSE(back->is_bitmap());
  EXPECT_EQ(back->Cardinality(), kArrayMax);
  EXPECT_EQ(back->Encode().size(), 1 + 2 * kArrayMax);
}

TEST(PostingTest, ApplySwitchesBothWays) {
  Chunk c;
  Delta grow;
  for (uint32_t i = 0; i < 5000; ++i) grow.adds.push_back(static_cast<uint16_t>(i * 13));
  c.Apply(grow);
  EXPECT_TRUE(c.is_bitmap());
  EXPECT_EQ(c.Cardinality(), 5000u);
  Delta shrink;
  for (uint32_t i = 0; i < 4000; ++i) shrink.removes.push_back(static_cast<uint16_t>(i * 13));
  c.Apply(shrink);
  EXPECT_FALSE(c.is_bitmap());
  EXPECT_EQ(c.Cardinality(), 1000u);
  EXPECT_EQ(c.Ids().front(), 4000 * 13);
}

TEST(PostingTest, FullChunkFitsTheBitmap) {
  Chunk c = ChunkOf(0, 65536);
  EXPECT_EQ(c.Cardinality(), 65536u);
  EXPECT_EQ(EncodedCardinality(c.Encode()), 65536u);
  EXPECT_EQ(Visit(c.Encode()).back(), 65535);
}

TEST(PostingTest, ApplyMatchesASetUnderRandomDeltas) {
  std::mt19937 rng(42);
  std::set<uint16_t> model;
  Chunk c;
  for (int round = 0; round < 60; ++round) {
    // Some rounds dense (bitmap), some sparse (array).
    const uint32_t span = round % 3 == 0 ? 65536 : 9000;
    std::set<uint16_t> adds, removes;
    for (int i = 0; i < 800; ++i) adds.insert(static_cast<uint16_t>(rng() % span));
    for (int i = 0; i < 800; ++i) {
      auto v = static_cast<uint16_t>(rng() % span);
      if (!adds.count(v)) removes.insert(v);
    }
    Delta d{{adds.begin(), adds.end()}, {removes.begin(), removes.end()}};
    for (auto v : removes) model.erase(v);
    model.insert(adds.begin(), adds.end());
    c.Apply(*Delta::Decode(d.Encode()));
    ASSERT_EQ(c.Cardinality(), model.size());
    ASSERT_EQ(c.is_bitmap(), model.size() > kArrayMax);
  }
  EXPECT_EQ(c.Ids(), (std::vector<uint16_t>{model.begin(), model.end()}));
  EXPECT_EQ(Visit(c.Encode()), c.Ids());
}

TEST(PostingTest, EncodedContainsAgreesWithTheChunkInBothForms) {
  std::mt19937 rng(7);
  for (uint32_t size : {1u, 2u, 37u, static_cast<uint32_t>(kArrayMax), 20000u}) {
    Chunk c;
    while (c.Cardinality() < size) c.Add(static_cast<uint16_t>(rng()));
    std::string bytes = c.Encode();
    ASSERT_EQ(c.is_bitmap(), size > kArrayMax);
    for (uint16_t v : c.Ids()) ASSERT_EQ(EncodedContains(bytes, v), true) << size << " " << v;
    for (int i = 0; i < 2000; ++i) {
      auto v = static_cast<uint16_t>(rng());
      ASSERT_EQ(EncodedContains(bytes, v), c.Contains(v)) << size << " " << v;
    }
    ASSERT_EQ(EncodedContains(bytes, 0), c.Contains(0));
    ASSERT_EQ(EncodedContains(bytes, 65535), c.Contains(65535));
  }
  EXPECT_EQ(EncodedContains("", 5), false);
  EXPECT_FALSE(EncodedContains(std::string("\x01\x00", 2), 0));
  EXPECT_FALSE(EncodedContains(std::string("\x02\x00", 2), 0));
  EXPECT_FALSE(EncodedContains(std::string("\x03\x00\x00", 3), 0));
}

TEST(PostingTest, ThenLetsTheLaterOpWinPerId) {
  Delta first{{1, 2, 3}, {7}};
  Delta later{{7}, {2, 9}};
  first.Then(later);
  EXPECT_EQ(first.adds, (std::vector<uint16_t>{1, 3, 7}));
  EXPECT_EQ(first.removes, (std::vector<uint16_t>{2, 9}));
}

TEST(PostingTest, DeltaRoundTrips) {
  Delta d{{1, 300, 65535}, {0, 2}};
  auto back = Delta::Decode(d.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->adds, d.adds);
  EXPECT_EQ(back->removes, d.removes);
}

TEST(PostingTest, MalformedValuesAreRejected) {
  const std::string bad[] = {
      std::string("\x01", 1),              // array tag, no ids
      std::string("\x01\x00", 2),          // odd length
      std::string("\x01\x00\x05\x00\x05", 5),  // duplicate
      std::string("\x01\x00\x05\x00\x04", 5),  // descending
      std::string("\x02\x00\x01", 3),      // short bitmap
      std::string(1 + kBitmapBytes + 1, '\x02'),  // long bitmap
      std::string("\x03\x00\x00", 3),      // a delta is not a value
      std::string("\x09", 1),              // unknown tag
  };
  for (const auto& bytes : bad) {
    EXPECT_FALSE(Chunk::Decode(bytes)) << testing::PrintToString(bytes);
    std::vector<uint16_t> seen;
    bool stopped = false;
    EXPECT_FALSE(ForEachEncoded(
        bytes,
        [&](uint16_t v) {
          seen.push_back(v);
          return true;
        },
        &stopped))
        << testing::PrintToString(bytes);
  }
  EXPECT_FALSE(EncodedCardinality(std::string("\x01\x00", 2)));
  EXPECT_FALSE(EncodedCardinality(std::string("\x02\x00", 2)));
  EXPECT_FALSE(EncodedCardinality(std::string("\x07", 1)));
}

TEST(PostingTest, MalformedDeltasAreRejected) {
  const std::string bad[] = {
      "",
      std::string("\x01\x00\x01", 3),                  // a value is not a delta
      std::string("\x03", 1),                          // no counts
      std::string("\x03\x01\x00", 3),                  // count beyond the bytes
      std::string("\x03\x02\x00\x02\x00\x01\x00", 7),  // descending adds
      std::string("\x03\x01\x00\x02\x01\x00\x02", 7),  // id both added and removed
      std::string("\x03\x00\x00\xFF", 4),              // trailing byte
      std::string("\x03\xFF\xFF\xFF\xFF\x0F", 6),      // absurd count
  };
  for (const auto& bytes : bad) EXPECT_FALSE(Delta::Decode(bytes)) << testing::PrintToString(bytes);
}

TEST(PostingTest, IterationStopsWhenAsked) {
  std::string bytes = ChunkOf(10, 100).Encode();
  int seen = 0;
  bool stopped = false;
  EXPECT_TRUE(ForEachEncoded(bytes, [&](uint16_t) { return ++seen < 3; }, &stopped));
  EXPECT_TRUE(stopped);
  EXPECT_EQ(seen, 3);
}

}  // namespace
}  // namespace simplead::store::posting
