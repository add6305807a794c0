// Session: one LDAP connection. A reader coroutine frames and decodes PDUs
// and starts one handler coroutine per request (so several operations run at
// once and answer as they finish); a writer coroutine drains a bounded
// outbound queue. StartTLS upgrades the stream in place.
//
// Thread-safety: everything runs on the session's strand except Send(),
// WaitForRoom(), IsAbandoned() and the SessionState accessors, which may be
// called from worker threads (a search streaming entries from a pool).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/ldap/message.h"
#include "lib/net/session_limits.h"

namespace simplead::net {

class Session;

// What one in-flight operation knows about itself.
struct Operation {
  int32_t message_id = 0;
  std::chrono::steady_clock::time_point started;
  std::atomic<bool> abandoned{false};
};

// The protocol logic behind a session (the server's frontend, the connector's
// proxy). Handle() runs on the session's strand; it must not block (offload
// blocking work) and must send exactly the responses the request calls for.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual boost::asio::awaitable<void> Handle(std::shared_ptr<Session> session, std::shared_ptr<Operation> op,
                                              ldap::Request request) = 0;
  // Called once when the session ends (after every handler finished).
  virtual void OnClose(Session&) {}
};

// Who the connection is bound as. Guarded by the session's mutex because
// workers read it.
struct BindState {
  std::string dn;              // empty: anonymous
  std::string normalized_dn;
  uint64_t entry_id = 0;       // directory entry id, 0 if none (e.g. rootDN from config)
  bool is_admin = false;
  std::shared_ptr<void> extra; // handler-specific data (group memberships, upstream identity...)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsContextProvider = std::function<std::shared_ptr<boost::asio::ssl::context>()>;

  Session(Socket socket, uint64_t id, RequestHandler& handler, const SessionLimits& limits,
          TlsContextProvider tls, bool implicit_tls);
  ~Session();

  // Runs the session until the peer leaves, an error, or Close().
  boost::asio::awaitable<void> Run();
  // Spawns Run() on the session's strand, detached; the session keeps itself alive.
  static void Start(std::shared_ptr<Session> session);

  // Thread-safe: queue one encoded PDU for the writer.
  void Send(std::string pdu);
  // Thread-safe: block a worker until the outbound queue has room or the
  // deadline passes (false: the client stopped reading, or the session ended).
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline);
  // Thread-safe: end the session; outstanding handlers see IsClosed().
  void Close();
  bool IsClosed() const { return closed_.load(); }

  const boost::asio::strand<boost::asio::any_io_executor>& executor() const { return strand_; }
  uint64_t id() const { return id_; }
  const std::string& peer_address() const { return peer_address_; }
  bool peer_is_loopback() const { return peer_is_loopback_; }
  bool tls_active() const { return tls_active_.load(); }
  int outstanding() const { return outstanding_.load(); }
  std::string tls_version() const;

  BindState bind_state() const;
  void set_bind_state(BindState state);

 private:
  boost::asio::awaitable<void> Reader();
  boost::asio::awaitable<void> Writer();
  boost::asio::awaitable<void> Watchdog();
  boost::asio::awaitable<void> RunHandler(std::shared_ptr<Operation> op, ldap::Request request);
  boost::asio::awaitable<bool> StartTls(int32_t message_id);
  void SendNoticeAndClose(ResultCode code, std::string_view diagnostic);
  // On the strand: writes what Send() queued, or wakes the Writer.
  void Flush();
  // Requires mu_. Moves queued answers into `batch`, up to about
  // kMaxWriteBytes, for one write (Flush and the Writer alike).
  void TakeBatch(std::string* batch);
  static constexpr size_t kMaxWriteBytes = 256 * 1024;
  void Touch();

  template <typename Buffers>
  boost::asio::awaitable<std::pair<boost::system::error_code, size_t>> ReadSome(Buffers buffers);
  boost::asio::awaitable<boost::system::error_code> WriteAll(const std::string& data);

  Socket socket_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::unique_ptr<boost::asio::ssl::stream<Socket&>> tls_stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // keeps the context of this session alive
  uint64_t id_;
  RequestHandler& handler_;
  SessionLimits limits_;
  TlsContextProvider tls_provider_;
  bool implicit_tls_;
  std::string peer_address_;
  bool peer_is_loopback_ = false;

  std::atomic<bool> closed_{false};
  std::atomic<bool> tls_active_{false};
  std::atomic<int> outstanding_{0};

  // Outbound queue (mutex: Send() is called from workers).
  mutable std::mutex mu_;
  std::condition_variable room_cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool flush_posted_ = false;    // a Flush() is queued on the strand
  bool flush_directly_ = false;  // ... and may write itself (queued on the strand, no TLS)
  BindState bind_state_;
  boost::asio::steady_timer wake_writer_;
  boost::asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point pdu_started_;
  bool pdu_in_progress_ = false;
  bool close_after_flush_ = false;                            // guarded by mu_
  std::chrono::steady_clock::time_point write_started_;      // guarded by mu_
  boost::asio::steady_timer* drain_waiter_ = nullptr;        // strand only

  std::map<int32_t, std::weak_ptr<Operation>> operations_;  // strand only
  boost::asio::steady_timer handlers_done_;                  // signalled when outstanding_ hits 0
};

}  // namespace simplead::net
