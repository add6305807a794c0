#include "lib/net/session.h"

#include <openssl/crypto.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "lib/ldap/codec.h"
#include "lib/ldap/controls.h"
#include "lib/net/response_tag.h"

namespace simplead::net {

namespace asio = boost::asio;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);

Session::Session(Socket socket, uint64_t id, RequestHandler& handler, const SessionLimits& limits,
                 TlsContextProvider tls, bool implicit_tls)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      id_(id),
      handler_(handler),
      limits_(limits),
      tls_provider_(std::move(tls)),
      implicit_tls_(implicit_tls),
      wake_writer_(strand_),
      idle_timer_(strand_),
      last_activity_(std::chrono::steady_clock::now()),
      handlers_done_(strand_) {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) {
    peer_address_ = endpoint.address().to_string();
    peer_is_loopback_ = endpoint.address().is_loopback();
  } else {
    peer_address_ = "unknown";
  }
}

Session::~Session() = default;

namespace {
// A plain coroutine function, not a capturing coroutine lambda (see offload.h).
asio::awaitable<void> RunSession(std::shared_ptr<Session> session) { co_await session->Run(); }
}  // namespace

void Session::Start(std::shared_ptr<Session> session) {
  auto strand = session->executor();
  asio::co_spawn(strand, RunSession(std::move(session)), asio::detached);
}

std::string Session::tls_version() const {
  if (!tls_stream_) return "";
  return SSL_get_version(tls_stream_->native_handle());
}

BindState Session::bind_state() const {
  std::lock_guard lock(mu_);
  return bind_state_;
}

void Session::set_bind_state(BindState state) {
  std::lock_guard lock(mu_);
  bind_state_ = std::move(state);
}

void Session::Touch() { last_activity_ = std::chrono::steady_clock::now(); }

asio::awaitable<void> Session::Run() {
  auto self = shared_from_this();
  // Everything below runs on the strand: the listener spawns Run() there.
  if (implicit_tls_) {
    tls_context_ = tls_provider_ ? tls_provider_() : nullptr;
    if (!tls_context_) co_return;
    tls_stream_ = std::make_unique<asio::ssl::stream<Socket&>>(socket_, *tls_context_);
    pdu_in_progress_ = true;  // the watchdog bounds the handshake like a PDU
    pdu_started_ = std::chrono::steady_clock::now();
    asio::co_spawn(strand_, Watchdog(), asio::detached);
    auto [ec] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::server, kAsTuple);
    pdu_in_progress_ = false;
    if (ec) {
      Close();
      co_return;
    }
    tls_active_ = true;
  } else {
    asio::co_spawn(strand_, Watchdog(), asio::detached);
  }
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);  // Flush() writes without waiting; async operations are unaffected
  asio::co_spawn(strand_, Writer(), asio::detached);
  co_await Reader();
  // Let the handlers of operations still running finish (they see IsClosed()).
  for (int i = 0; i < 600 && outstanding_.load() > 0; ++i) {
    handlers_done_.expires_after(std::chrono::milliseconds(100));
    co_await handlers_done_.async_wait(kAsTuple);
  }
  // Let a queued notice of disconnection (or last responses) reach the
  // client before the socket closes; bounded, since it may not be reading.
  for (int i = 0; i < 100 && !closed_.load(); ++i) {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() && !writing_) break;
    }
    handlers_done_.expires_after(std::chrono::milliseconds(10));
    co_await handlers_done_.async_wait(kAsTuple);
  }
  Close();
  handler_.OnClose(*this);
}

template <typename Buffers>
asio::awaitable<std::pair<boost::system::error_code, size_t>> Session::ReadSome(Buffers buffers) {
  if (tls_stream_) {
    auto [ec, n] = co_await tls_stream_->async_read_some(buffers, kAsTuple);
    co_return std::pair{ec, n};
  }
  auto [ec, n] = co_await socket_.async_read_some(buffers, kAsTuple);
  co_return std::pair{ec, n};
}

asio::awaitable<boost::system::error_code> Session::WriteAll(const std::string& data) {
  if (tls_stream_) {
    auto [ec, n] = co_await asio::async_write(*tls_stream_, asio::buffer(data), kAsTuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data), kAsTuple);
  co_return ec;
}

void Session::Send(std::string pdu) {
  // A response sent on the strand (an operation answered on the I/O thread)
  // is written by a flush posted behind it, which writes everything queued
  // in this turn of the strand with one plain non-blocking send. Waking the
  // Writer instead costs a timer cancel, two coroutine resumptions and an
  // async_write: about a tenth of a bind's CPU. TLS goes through the Writer.
  const bool flush = !tls_stream_ && strand_.running_in_this_thread();
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (closed_.load()) return;
    queued_bytes_ += pdu.size();
    queue_.push_back(std::move(pdu));
    if (!writing_ && !flush_posted_) {
      flush_posted_ = true;
      post = true;
      flush_directly_ = flush;
    }
  }
  if (post) {
    asio::post(strand_, [self = shared_from_this()] { self->Flush(); });
  }
}

void Session::TakeBatch(std::string* batch) {
  while (!queue_.empty() && batch->size() < kMaxWriteBytes) {
    *batch += queue_.front();
    queue_.pop_front();
  }
}

void Session::Flush() {
  std::string batch;
  {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    // The Writer owns the socket while it writes, and takes the queue after.
    if (writing_ || queue_.empty()) return;
    if (!flush_directly_ || tls_stream_) {
      wake_writer_.cancel();
      return;
    }
    TakeBatch(&batch);
  }
  boost::system::error_code ec;
  const size_t sent = socket_.write_some(asio::buffer(batch), ec);  // the socket is non-blocking
  const bool would_block = ec == asio::error::would_block || ec == asio::error::try_again;
  if (ec && !would_block) {
    Close();
    return;
  }
  bool close_now = false;
  {
    std::lock_guard lock(mu_);
    const size_t written = ec ? 0 : sent;
    queued_bytes_ -= std::min(queued_bytes_, written);
    room_cv_.notify_all();
    if (written < batch.size()) queue_.push_front(batch.substr(written));  // the Writer waits for room
    if (!queue_.empty()) {
      wake_writer_.cancel();
      return;
    }
    close_now = close_after_flush_;  // as the Writer does once its queue is empty
  }
  if (drain_waiter_) drain_waiter_->cancel();
  if (close_now) Close();
}

bool Session::WaitForRoom(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return room_cv_.wait_until(lock, deadline,
                             [&] { return closed_.load() || queued_bytes_ < limits_.max_queued_bytes; }) &&
         !closed_.load();
}

void Session::Close() {
  if (closed_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    room_cv_.notify_all();
  }
  asio::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->socket_.shutdown(Socket::shutdown_both, ignored);
    self->socket_.close(ignored);
    self->wake_writer_.cancel();
    self->idle_timer_.cancel();
    self->handlers_done_.cancel();
  });
}

void Session::SendNoticeAndClose(ResultCode code, std::string_view diagnostic) {
  Send(ldap::EncodeNoticeOfDisconnection(code, diagnostic));
  // Give the writer a moment to flush the notice; the watchdog closes after.
  std::lock_guard lock(mu_);
  close_after_flush_ = true;
}

asio::awaitable<void> Session::Writer() {
  auto self = shared_from_this();
  std::string batch;
  while (true) {
    {
      std::lock_guard lock(mu_);
      batch.clear();
      TakeBatch(&batch);
      writing_ = !batch.empty();
      if (writing_) write_started_ = std::chrono::steady_clock::now();
    }
    if (batch.empty()) {
      bool close_now;
      {
        std::lock_guard lock(mu_);
        close_now = close_after_flush_;
      }
      if (close_now) {
        Close();
        co_return;
      }
      if (closed_.load()) co_return;
      wake_writer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await wake_writer_.async_wait(kAsTuple);
      continue;
    }
    auto ec = co_await WriteAll(batch);
    {
      std::lock_guard lock(mu_);
      queued_bytes_ -= std::min(queued_bytes_, batch.size());
      writing_ = false;
      room_cv_.notify_all();
    }
    if (ec) {
      Close();
      co_return;
    }
    if (drain_waiter_) drain_waiter_->cancel();
  }
}

asio::awaitable<void> Session::Watchdog() {
  auto self = shared_from_this();
  using Clock = std::chrono::steady_clock;
  while (!closed_.load()) {
    idle_timer_.expires_after(std::chrono::milliseconds(250));
    co_await idle_timer_.async_wait(kAsTuple);
    if (closed_.load()) break;
    auto now = Clock::now();
    if (pdu_in_progress_ && now - pdu_started_ > limits_.pdu_timeout) {
      SendNoticeAndClose(ResultCode::kProtocolError, "request not completed within the PDU timeout");
      // Don't wait on the writer to drain a client that also stops reading.
      idle_timer_.expires_after(std::chrono::seconds(1));
      co_await idle_timer_.async_wait(kAsTuple);
      Close();
      break;
    }
    bool stalled_writer;
    bool idle;
    {
      std::lock_guard lock(mu_);
      stalled_writer = writing_ && now - write_started_ > limits_.write_timeout;
      idle = queue_.empty() && !writing_;
    }
    if (stalled_writer) {
      Close();
      break;
    }
    if (idle && outstanding_.load() == 0 && !pdu_in_progress_ && now - last_activity_ > limits_.idle_timeout) {
      Close();
      break;
    }
  }
}

asio::awaitable<void> Session::RunHandler(std::shared_ptr<Operation> op, ldap::Request request) {
  auto self = shared_from_this();
  try {
    co_await handler_.Handle(self, op, std::move(request));
  } catch (const std::exception&) {
    // A handler bug must cost one operation, not the server.
    Send(ldap::EncodeNoticeOfDisconnection(ResultCode::kOther, "internal error"));
    Close();
  }
  operations_.erase(op->message_id);
  Touch();
  if (outstanding_.fetch_sub(1) == 1) handlers_done_.cancel();
}

asio::awaitable<bool> Session::StartTls(int32_t message_id) {
  ldap::LdapResult result;
  std::shared_ptr<asio::ssl::context> context = tls_provider_ ? tls_provider_() : nullptr;
  if (!context) {
    result = {ResultCode::kUnavailable, "", "TLS is not configured on this server", {}};
  } else if (tls_active_.load()) {
    result = {ResultCode::kOperationsError, "", "TLS is already established on this connection", {}};
  } else if (outstanding_.load() > 0) {
    result = {ResultCode::kOperationsError, "", "StartTLS refused: operations are outstanding", {}};
  }
  if (result.code != ResultCode::kSuccess) {
    Send(ldap::EncodeExtendedResponse(message_id, result, std::string(ldap::oid::kStartTls)));
    co_return true;
  }
  Send(ldap::EncodeExtendedResponse(message_id, result, std::string(ldap::oid::kStartTls)));
  // The response must leave in clear before the handshake starts.
  asio::steady_timer drained(strand_);
  drain_waiter_ = &drained;
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() && !writing_) break;
    }
    drained.expires_after(std::chrono::milliseconds(10));
    co_await drained.async_wait(kAsTuple);
  }
  drain_waiter_ = nullptr;
  if (closed_.load()) co_return false;
  tls_context_ = std::move(context);
  tls_stream_ = std::make_unique<asio::ssl::stream<Socket&>>(socket_, *tls_context_);
  pdu_in_progress_ = true;
  pdu_started_ = std::chrono::steady_clock::now();
  auto [ec] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::server, kAsTuple);
  pdu_in_progress_ = false;
  if (ec) {
    Close();
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

asio::awaitable<void> Session::Reader() {
  std::string in;
  std::array<char, 16384> buf;
  while (!closed_.load()) {
    auto [ec, n] = co_await ReadSome(asio::buffer(buf));
    if (ec || n == 0) co_return;
    Touch();
    in.append(buf.data(), n);
    // Requests carry passwords: leave no copy in buffers we no longer need.
    OPENSSL_cleanse(buf.data(), n);
    while (!closed_.load()) {
      if (in.empty()) {
        pdu_in_progress_ = false;
        break;
      }
      auto length = ldap::PduLength(in);
      if (!length.ok()) {
        SendNoticeAndClose(ResultCode::kProtocolError, length.status().message());
        co_return;
      }
      bool bound = !bind_state().dn.empty();
      size_t max_pdu = bound ? limits_.max_pdu_bytes_bound : limits_.max_pdu_bytes_anonymous;
      if (length->has_value() && **length > max_pdu) {
        SendNoticeAndClose(ResultCode::kAdminLimitExceeded,
                           "request of " + std::to_string(**length) + " bytes exceeds the limit of " +
                               std::to_string(max_pdu) + " bytes" + (bound ? "" : " before bind"));
        co_return;
      }
      if (!length->has_value() || in.size() < **length) {
        if (!pdu_in_progress_) {
          pdu_in_progress_ = true;
          pdu_started_ = std::chrono::steady_clock::now();
        }
        break;
      }
      pdu_in_progress_ = false;
      size_t pdu_size = **length;
      int32_t message_id = -1;
      auto request = ldap::DecodeRequest(std::string_view(in.data(), pdu_size), limits_.max_filter_depth,
                                         &message_id);
      OPENSSL_cleanse(in.data(), pdu_size);
      in.erase(0, pdu_size);
      if (!request.ok()) {
        if (request.status().code() == ResultCode::kAdminLimitExceeded && message_id > 0) {
          Send(ldap::EncodeResult(message_id, ldap::ResponseTag::kSearchDone,
                                  {ResultCode::kAdminLimitExceeded, "", request.status().message(), {}}));
          continue;
        }
        SendNoticeAndClose(ResultCode::kProtocolError, request.status().message());
        co_return;
      }
      ldap::Request& req = *request;
      if (std::holds_alternative<ldap::UnbindRequest>(req.op)) co_return;
      if (auto* abandon = std::get_if<ldap::AbandonRequest>(&req.op)) {
        auto it = operations_.find(abandon->message_id);
        if (it != operations_.end()) {
          if (auto op = it->second.lock()) op->abandoned = true;
        }
        continue;
      }
      if (auto* ext = std::get_if<ldap::ExtendedRequest>(&req.op); ext && ext->oid == ldap::oid::kStartTls) {
        if (!in.empty()) {
          SendNoticeAndClose(ResultCode::kProtocolError, "data received after StartTLS request");
          co_return;
        }
        if (!co_await StartTls(req.message_id)) co_return;
        continue;
      }
      if (outstanding_.load() >= limits_.max_outstanding_operations) {
        Send(EncodeErrorResponse(req, {ResultCode::kBusy, "",
                                       "too many outstanding operations on this connection (limit " +
                                           std::to_string(limits_.max_outstanding_operations) + ")",
                                       {}}));
        continue;
      }
      if (operations_.count(req.message_id)) {
        SendNoticeAndClose(ResultCode::kProtocolError, "message ID " + std::to_string(req.message_id) +
                                                           " is already in use by an outstanding operation");
        co_return;
      }
      auto op = std::make_shared<Operation>();
      op->message_id = req.message_id;
      op->started = std::chrono::steady_clock::now();
      operations_[req.message_id] = op;
      outstanding_.fetch_add(1);
      asio::co_spawn(strand_, RunHandler(op, std::move(req)), asio::detached);
    }
  }
}

}  // namespace simplead::net
