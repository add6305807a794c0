// AwaitCallback: suspends the calling coroutine until an API that answers
// through a callback (run on whatever thread finishes the work) delivers its
// value, then resumes the coroutine on its own executor. No thread waits in
// between, unlike Offload, which holds a worker for the whole call.
//
// No coroutine lambdas here (GCC bug 105301 family, see offload.h).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <utility>

namespace simplead::net {

// `start(deliver)` begins the work; deliver(T) must be called exactly once,
// from any thread. `deliver` is copyable, so it fits a std::function.
template <typename T, typename Start>
boost::asio::awaitable<T> AwaitCallback(Start start) {
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(T)>(
      [&start](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared](T value) {
          auto executor = boost::asio::get_associated_executor(*shared);
          boost::asio::post(executor, [shared, value = std::move(value)]() mutable { (*shared)(std::move(value)); });
        });
      },
      boost::asio::use_awaitable);
}

}  // namespace simplead::net
