// Sends a flush's FHIR requests (write_plan.hpp): in `batch` Bundles when the server takes them,
// else one by one, a bounded number at a time. The thin Asio driver of the write plan (STYLE
// habit 1): which request goes in which Bundle and what an answer means is decided in
// write_plan.*; this file only does the I/O, the waiting and the fallbacks.
//
// - A Bundle the server refuses as unsupported (404/405/501) turns Bundles off for good
//   (bundles() becomes false); its requests, and all later ones, go alone.
// - A Bundle refused as a whole for another 4xx (one invalid resource fails some servers' whole
//   Bundle, or it is too large) is sent again request by request: the error lands on its request.
// - A Bundle that fails as a whole after the client's retries (network, 401/403, 429/5xx, an
//   unreadable answer) gives that failure, classified, to each of its requests.
// - Entries answered 408/429/5xx inside a processed Bundle are sent again after a backoff
//   (retry.hpp), until the client's retry.max_attempts is used up; then their last answer stands.
//
// One per shard writer, used only from its shard's io_context (not thread-safe).
#pragma once

#include "fhir/client.hpp"
#include "fhir/request_exchange.hpp"
#include "fhir/write_plan.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

namespace iomt::fhir {

// Runs job(0) .. job(count - 1), at most `limit` at a time, on the caller's executor (one thread:
// the jobs interleave only at their co_awaits). The first exception (a bug) is rethrown once every
// job has ended.
boost::asio::awaitable<void> run_bounded(std::size_t count, std::size_t limit,
                                         const std::function<boost::asio::awaitable<void>(std::size_t)>& job);

struct exchange_options {
  bool bundles = false;           // false: every request alone
  std::size_t max_entries = 50;   // entries per Bundle
  std::size_t max_in_flight = 8;  // Bundles or single requests at once (the pool's connections)
};

struct exchange_stats {
  std::uint64_t bundles = 0;         // batch Bundles posted (each attempt)
  std::uint64_t bundle_entries = 0;  // entries in them
  std::uint64_t singles = 0;         // requests sent alone
  std::uint64_t entry_retries = 0;   // entries sent again after a 408/429/5xx of their own
  std::uint64_t fallbacks = 0;       // Bundles refused as a whole, then sent request by request
};

class batch_exchange final : public request_exchange {
public:
  batch_exchange(client& fhir, exchange_options options);

  // Completion: one final answer per request, in the order of `requests`. Requests sharing a key
  // go out in successive rounds (plan_rounds); the others are independent. Never throws for
  // server or network errors: they are in the answers.
  boost::asio::awaitable<std::vector<entry_answer>> send(std::span<const plan_request> requests) override;

  // fold_search, and when the server paged the result, the search again alone following its pages
  // (client::search).
  boost::asio::awaitable<search_fold> complete_search(const plan_request& request, const entry_answer& answer) override;

  bool bundles() const noexcept { return options_.bundles; }
  void set_bundles(bool on) noexcept { options_.bundles = on; }
  std::size_t max_entries() const noexcept { return options_.max_entries; }
  void set_max_entries(std::size_t n) noexcept { options_.max_entries = n ? n : 1; }
  std::size_t max_in_flight() const noexcept { return std::max<std::size_t>(options_.max_in_flight, 1); }
  const exchange_stats& stats() const noexcept { return stats_; }
  client& fhir_client() noexcept { return client_; }

private:
  // Sends `which` (independent requests), each Bundle or single request once; fills `answers`,
  // adds the requests to send alone to `alone` and the entries worth sending again to `retry`.
  boost::asio::awaitable<void> send_once(std::span<const plan_request> requests, std::span<const std::size_t> which,
                                         std::vector<entry_answer>& answers, std::vector<std::size_t>& alone,
                                         std::vector<std::size_t>& retry);
  boost::asio::awaitable<entry_answer> send_alone(const plan_request& request);

  client& client_;
  exchange_options options_;
  retry_policy policy_;
  std::minstd_rand rng_;
  exchange_stats stats_;
};

}  // namespace iomt::fhir
