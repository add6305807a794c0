// Offload: run blocking work (synced RocksDB writes, password hashing,
// libldap or PKCS#11 calls) on a worker pool and resume the calling
// coroutine on its own executor afterwards.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace simplead::net {

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> Offload(boost::asio::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn>;
  co_return co_await boost::asio::co_spawn(
      pool.get_executor(), [fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
      boost::asio::use_awaitable);
}

}  // namespace simplead::net
