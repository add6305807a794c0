#include "lib/base/status.h"

#include <gtest/gtest.h>

namespace simplead {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error(ResultCode::kConstraintViolation, "not positive");
  return v;
}

Result<int> Doubled(int v) {
  SIMPLEAD_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}

TEST(StatusTest, DefaultIsSuccess) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.ToString(), "success");
}

TEST(StatusTest, CarriesCodeMessageAndMatchedDn) {
  Status st(ResultCode::kNoSuchObject, "no such entry", "dc=example,dc=com");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ResultCode::kNoSuchObject);
  EXPECT_EQ(st.matched_dn(), "dc=example,dc=com");
  EXPECT_EQ(st.ToString(), "noSuchObject: no such entry");
}

TEST(ResultTest, AssignOrReturnPropagatesError) {
  EXPECT_EQ(Doubled(4).value(), 8);
  auto bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ResultCode::kConstraintViolation);
}

}  // namespace
}  // namespace simplead
