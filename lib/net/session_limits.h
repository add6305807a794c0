// Per-connection resource limits, shared by simplead and adconnector. Every
// limit is configurable; the defaults are what a directory exposed to a
// network should start from (AD's idle timeout, OpenLDAP's pre-bind PDU cap).
#pragma once

#include <chrono>
#include <cstddef>

namespace simplead::net {

struct SessionLimits {
  size_t max_pdu_bytes_anonymous = 256 * 1024;        // before a successful bind
  size_t max_pdu_bytes_bound = 16 * 1024 * 1024;      // after
  int max_outstanding_operations = 64;                // per connection; busy (51) past it
  int max_filter_depth = 64;                          // adminLimitExceeded past it
  std::chrono::seconds idle_timeout{900};             // no traffic and nothing outstanding
  std::chrono::seconds pdu_timeout{30};               // a started PDU must complete within this
  std::chrono::seconds write_timeout{60};             // a client that stops reading is dropped
  size_t max_queued_bytes = 8 * 1024 * 1024;          // per connection outbound backlog
};

struct ListenerLimits {
  size_t max_connections = 4096;
  size_t max_connections_per_address = 256;
};

}  // namespace simplead::net
