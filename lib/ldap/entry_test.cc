#include "lib/ldap/entry.h"

#include <gtest/gtest.h>

namespace simplead::ldap {
namespace {

TEST(EntryTest, FindIsCaseInsensitive) {
  Entry e;
  e.AddValue("cn", "Alice");
  ASSERT_NE(e.Find("CN"), nullptr);
  EXPECT_EQ(*e.First("Cn"), "Alice");
}

TEST(EntryTest, AddValueAppendsToExistingAttribute) {
  Entry e;
  e.AddValue("mail", "a@x");
  e.AddValue("MAIL", "b@x");
  EXPECT_EQ(e.attributes().size(), 1u);
  EXPECT_EQ(e.Values("mail").size(), 2u);
}

TEST(EntryTest, SetWithNoValuesRemoves) {
  Entry e;
  e.AddValue("description", "x");
  e.Set("description", {});
  EXPECT_FALSE(e.Has("description"));
  EXPECT_TRUE(e.Values("description").empty());
}

}  // namespace
}  // namespace simplead::ldap
