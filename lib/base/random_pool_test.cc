#include "lib/base/random_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace simplead {
namespace {

TEST(RandomPoolTest, DrawsNeverRepeatAcrossRefills) {
  RandomPool pool;
  std::set<std::string> seen;
  // 1,000 draws of 16 bytes span four refills of the 4 KiB pool.
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(pool.String(16)).second) << "draw " << i;
}

TEST(RandomPoolTest, FillsRequestsLargerThanThePool) {
  RandomPool pool;
  std::string big = pool.String(10000);
  ASSERT_EQ(big.size(), 10000u);
  // 10,000 random bytes all zero, or a 4 KiB block repeated, would be a bug.
  EXPECT_NE(big.find_first_not_of('\0'), std::string::npos);
  EXPECT_NE(big.substr(0, 4096), big.substr(4096, 4096));
  EXPECT_NE(big.substr(4096, 1808), big.substr(8192, 1808));
}

TEST(RandomPoolTest, ByteValuesAreSpread) {
  RandomPool pool;
  std::string bytes = pool.String(65536);
  int counts[256] = {};
  for (unsigned char c : bytes) ++counts[c];
  // 256 per value expected; a broken pool (zeros, a short cycle) falls far outside.
  for (int v = 0; v < 256; ++v) EXPECT_GT(counts[v], 128) << "byte " << v;
}

}  // namespace
}  // namespace simplead
