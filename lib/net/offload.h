// Offload: run blocking work (synced RocksDB writes, password hashing,
// libldap or PKCS#11 calls) on a worker pool and resume the calling
// coroutine on its own executor afterwards. Exceptions from `fn` propagate.
//
// No coroutine lambdas here: GCC 12 destroys the captures of a capturing
// coroutine lambda twice (GCC bug 105301 family), so the hop is done with
// plain handlers.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace simplead::net {

// Runs `work` on `pool`, then completes on the awaiting coroutine's executor.
template <typename Work>
boost::asio::awaitable<void> RunOn(boost::asio::thread_pool& pool, Work& work) {
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
      [&pool, &work](auto handler) {
        boost::asio::post(pool, [&work, handler = std::move(handler)]() mutable {
          work();
          auto executor = boost::asio::get_associated_executor(handler);
          boost::asio::post(executor, std::move(handler));
        });
      },
      boost::asio::use_awaitable);
}

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> Offload(boost::asio::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    auto work = [&] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    };
    co_await RunOn(pool, work);
    if (error) std::rethrow_exception(error);
  } else {
    // Results need not be default-constructible (Result<T> is not).
    std::optional<R> result;
    auto work = [&] {
      try {
        result.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
    };
    co_await RunOn(pool, work);
    if (error) std::rethrow_exception(error);
    co_return std::move(*result);
  }
}

}  // namespace simplead::net
