#include "connector/upstream.h"

#include <gtest/gtest.h>

namespace simplead::connector {
namespace {

using std::chrono::milliseconds;
using TimePoint = CircuitBreaker::TimePoint;

TEST(CircuitBreakerTest, StartsClosedAndAllows) {
  CircuitBreaker b(3, milliseconds(1000));
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.Allow(TimePoint{}));
}

TEST(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  CircuitBreaker b(3, milliseconds(1000));
  TimePoint t{};
  b.RecordFailure(t);
  b.RecordFailure(t);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.RecordFailure(t);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow(t + milliseconds(999)));
}

TEST(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  CircuitBreaker b(2, milliseconds(1000));
  TimePoint t{};
  b.RecordFailure(t);
  b.RecordSuccess();
  b.RecordFailure(t);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpensAfterCoolDown) {
  CircuitBreaker b(1, milliseconds(1000));
  TimePoint t{};
  b.RecordFailure(t);
  EXPECT_TRUE(b.Allow(t + milliseconds(1000)));
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, HalfOpenClosesOnSuccess) {
  CircuitBreaker b(1, milliseconds(10));
  TimePoint t{};
  b.RecordFailure(t);
  ASSERT_TRUE(b.Allow(t + milliseconds(10)));
  b.RecordSuccess();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpenReopensOnOneFailure) {
  CircuitBreaker b(3, milliseconds(10));
  TimePoint t{};
  for (int i = 0; i < 3; ++i) b.RecordFailure(t);
  ASSERT_TRUE(b.Allow(t + milliseconds(10)));
  b.RecordFailure(t + milliseconds(10));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.Allow(t + milliseconds(15)));
}

TEST(TransportTest, OnlyTransportCodesFailOver) {
  EXPECT_TRUE(IsTransportFailure(LDAP_SERVER_DOWN));
  EXPECT_TRUE(IsTransportFailure(LDAP_TIMEOUT));
  EXPECT_TRUE(IsTransportFailure(LDAP_CONNECT_ERROR));
  EXPECT_FALSE(IsTransportFailure(LDAP_INVALID_CREDENTIALS));
  EXPECT_FALSE(IsTransportFailure(LDAP_UNAVAILABLE));
  EXPECT_EQ(TransportResult(LDAP_SERVER_DOWN, "ldap://x").code, ResultCode::kUnavailable);
}

TEST(EscapeFilterValueTest, EscapesSpecialCharacters) {
  EXPECT_EQ(EscapeFilterValue("alice"), "alice");
  EXPECT_EQ(EscapeFilterValue("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(EscapeFilterValue("a\\b"), "a\\5cb");
  EXPECT_EQ(EscapeFilterValue(std::string("a\0b", 3)), "a\\00b");
}

TEST(UpstreamPoolTest, BindFailsWith52WhenNoUpstreamAnswers) {
  UpstreamOptions o;
  o.urls = {"ldap://127.0.0.1:1", "ldap://127.0.0.1:2"};
  o.starttls = false;
  o.connect_timeout = milliseconds(500);
  UpstreamPool pool(o);
  BindOutcome out = pool.BindUser("cn=x", SecureBytes(std::string_view("pw")), 0);
  EXPECT_EQ(out.result.code, ResultCode::kUnavailable);
  EXPECT_EQ(out.connection, nullptr);
}

TEST(UpstreamPoolTest, BreakerOpensAfterRepeatedConnectFailures) {
  UpstreamOptions o;
  o.urls = {"ldap://127.0.0.1:1", "ldap://127.0.0.1:2"};
  o.starttls = false;
  o.failure_threshold = 2;
  o.cool_down = milliseconds(60000);
  UpstreamPool pool(o);
  pool.HealthCheck();
  pool.HealthCheck();
  auto status = pool.Status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].state, BreakerState::kOpen);
  EXPECT_FALSE(status[0].last_error.empty());
  // With every breaker open, a bind fails at once with 52, never succeeds.
  EXPECT_EQ(pool.BindUser("cn=x", SecureBytes(std::string_view("pw")), 0).result.code, ResultCode::kUnavailable);
}

}  // namespace
}  // namespace simplead::connector
