#include "fhir/batch_exchange.hpp"

#include "fhir/search.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <functional>

namespace iomt::fhir {

namespace asio = boost::asio;
namespace http = boost::beast::http;

asio::awaitable<void> run_bounded(std::size_t count, std::size_t limit,
                                  const std::function<asio::awaitable<void>(std::size_t)>& job) {
  const std::size_t workers = std::min(count, std::max<std::size_t>(limit, 1));
  if (workers <= 1) {
    for (std::size_t i = 0; i < count; ++i) co_await job(i);
    co_return;
  }
  auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
  std::exception_ptr failure;
  asio::experimental::channel<void(boost::system::error_code)> done(ex, workers);
  auto worker = [&]() -> asio::awaitable<void> {
    while (next < count) {
      const std::size_t i = next++;
      co_await job(i);
    }
  };
  for (std::size_t w = 0; w < workers; ++w)
    asio::co_spawn(ex, worker(), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
      done.try_send(boost::system::error_code{});
    });
  for (std::size_t w = 0; w < workers; ++w) co_await done.async_receive(asio::as_tuple(asio::use_awaitable));
  if (failure) std::rethrow_exception(failure);
}

batch_exchange::batch_exchange(client& fhir, exchange_options options)
    : client_(fhir), options_(options), policy_(fhir.options().retry), rng_(std::random_device{}()) {
  if (options_.max_entries == 0) options_.max_entries = 1;
}

asio::awaitable<entry_answer> batch_exchange::send_alone(const plan_request& request) {
  std::string body;
  if (request.resource) body = to_json(*request.resource);
  const std::string etag = request.if_match_version.empty() ? std::string() : weak_etag(request.if_match_version);
  ++stats_.singles;
  auto r = co_await client_.send(request.method, request.url, body, {etag, {}});
  if (!r) {
    entry_answer failed;
    failed.failure = r.error();
    co_return failed;
  }
  const bool ok = r->status >= 200 && r->status <= 299;
  co_return single_answer(r->status, r->body, std::move(r->etag), ok ? std::string() : failure_cause(*r));
}

asio::awaitable<void> batch_exchange::send_once(std::span<const plan_request> requests,
                                                std::span<const std::size_t> which, std::vector<entry_answer>& answers,
                                                std::vector<std::size_t>& alone, std::vector<std::size_t>& retry) {
  // Jobs: Bundles of up to max_entries, or single requests.
  std::vector<std::span<const std::size_t>> jobs;
  const std::size_t cap = options_.bundles ? options_.max_entries : 1;
  for (std::size_t begin = 0; begin < which.size(); begin += cap)
    jobs.push_back(which.subspan(begin, std::min(cap, which.size() - begin)));
  // (Named std::function locals: GCC 12 mishandles temporaries that live across a co_await.)
  const std::function<asio::awaitable<void>(std::size_t)> job = [&](std::size_t j) -> asio::awaitable<void> {
    const std::span<const std::size_t> entries = jobs[j];
    if (entries.size() == 1 || !options_.bundles) {
      for (std::size_t i : entries) {
        entry_answer a = co_await send_alone(requests[i]);
        answers[i] = std::move(a);
      }
      co_return;
    }
    const std::string body = batch_body(requests, entries);
    ++stats_.bundles;
    stats_.bundle_entries += entries.size();
    auto r = co_await client_.send(http::verb::post, "", body);
    batch_reply reply;
    if (!r) {
      reply.failure = r.error();
    } else {
      const bool ok = r->status >= 200 && r->status <= 299;
      reply = read_batch_reply(r->status, r->body, entries.size(), ok ? std::string() : failure_cause(*r));
    }
    switch (reply.verdict) {
      case batch_verdict::processed:
        for (std::size_t k = 0; k < entries.size(); ++k) {
          answers[entries[k]] = std::move(reply.entries[k]);
          if (retryable_status(answers[entries[k]].status)) retry.push_back(entries[k]);
        }
        break;
      case batch_verdict::unsupported:
        options_.bundles = false;
        [[fallthrough]];
      case batch_verdict::refused:
        ++stats_.fallbacks;
        alone.insert(alone.end(), entries.begin(), entries.end());
        break;
      case batch_verdict::failed:
        for (std::size_t i : entries) {
          answers[i] = entry_answer{};
          answers[i].failure = reply.failure;
          answers[i].in_bundle = true;
        }
        break;
    }
  };
  co_await run_bounded(jobs.size(), options_.max_in_flight, job);
}

asio::awaitable<std::vector<entry_answer>> batch_exchange::send(std::span<const plan_request> requests) {
  std::vector<entry_answer> answers(requests.size());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const int max_attempts = std::max(1, policy_.options().max_attempts);
  // Rounds only separate requests sharing a key; the Bundles are cut in send_once.
  for (const planned_round& round : plan_rounds(requests, SIZE_MAX)) {
    std::vector<std::size_t> pending;
    for (const planned_bundle& b : round) pending.insert(pending.end(), b.begin(), b.end());
    for (int attempt = 1; !pending.empty(); ++attempt) {
      std::vector<std::size_t> alone, retry;
      co_await send_once(requests, pending, answers, alone, retry);
      if (!alone.empty()) {
        const std::function<asio::awaitable<void>(std::size_t)> job = [&](std::size_t k) -> asio::awaitable<void> {
          entry_answer a = co_await send_alone(requests[alone[k]]);
          answers[alone[k]] = std::move(a);
        };
        co_await run_bounded(alone.size(), options_.max_in_flight, job);
      }
      if (retry.empty() || attempt >= max_attempts) break;
      // The entries' own 408/429/5xx: wait as the retry policy says, then send them again.
      stats_.entry_retries += retry.size();
      const auto ex = co_await asio::this_coro::executor;
      asio::steady_timer timer(ex, policy_.backoff(attempt, jitter(rng_)));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      pending = std::move(retry);
    }
  }
  co_return answers;
}

asio::awaitable<search_fold> batch_exchange::complete_search(const plan_request& request, const entry_answer& answer) {
  search_fold fold = fold_search(answer, request);
  if (!fold.more_pages) co_return fold;
  auto all = co_await client_.search(request.url);
  fold.more_pages = false;
  if (all)
    fold.found = std::move(*all);
  else
    fold.found = all.error();
  co_return fold;
}

}  // namespace iomt::fhir
