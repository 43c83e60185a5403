#include "fhir/identity.hpp"

#include <memory>
#include <stdexcept>
#include <unordered_map>

namespace iomt::fhir {

namespace asio = boost::asio;
using mapping::fhir::resource_ids;

namespace {

// Requests of one device that resolve alike (Lookup ignores the patient id, but equal is enough).
bool same_request(const identity_request& a, const identity_request& b) {
  return a.patient_id == b.patient_id && a.encounter_id == b.encounter_id;
}

}  // namespace

asio::awaitable<mapping::result<resource_ids>> identity_resolver::resolve(const identity_request& request) {
  if (!client_) throw std::logic_error("identity_resolver::resolve needs a client");
  batch_exchange alone(*client_, exchange_options{.bundles = false, .max_entries = 1, .max_in_flight = 1});
  std::vector<mapping::result<resource_ids>> r = co_await resolve_all(std::span(&request, 1), alone);
  co_return std::move(r.front());
}

asio::awaitable<std::vector<mapping::result<resource_ids>>> identity_resolver::resolve_all(
    std::span<const identity_request> requests, request_exchange& exchange) {
  std::vector<mapping::result<resource_ids>> results(requests.size(), resource_ids{});
  std::vector<std::string> device_keys;
  device_keys.reserve(requests.size());
  for (const auto& r : requests) device_keys.emplace_back(r.device_id);
  // Per device, in order of first appearance: its requests in order; next[d] is the one resolving.
  const std::vector<std::vector<std::size_t>> devices = chains_by_key(device_keys);
  std::vector<std::size_t> next(devices.size(), 0);
  std::vector<std::unique_ptr<identity_flow>> flow(devices.size());

  auto settle = [&](std::size_t d, const resource_ids& ids) {
    for (std::size_t k = next[d]; k < devices[d].size(); ++k) results[devices[d][k]] = ids;
    next[d] = devices[d].size();
  };
  // Starts the flow of device d's next request that needs one.
  auto start = [&](std::size_t d) {
    for (; next[d] < devices[d].size(); ++next[d]) {
      const std::size_t i = devices[d][next[d]];
      std::optional<mapping::mapping_error> same;
      for (std::size_t k = 0; k < next[d] && !same; ++k) {
        const std::size_t j = devices[d][k];
        if (!results[j] && same_request(requests[j], requests[i])) same = results[j].error();
      }
      if (same) {
        results[i] = *same;
        continue;
      }
      flow[d] = std::make_unique<identity_flow>(options_, requests[i]);
      return;
    }
  };

  const auto now = std::chrono::steady_clock::now();
  std::size_t active = 0;
  for (std::size_t d = 0; d < devices.size(); ++d) {
    if (const resource_ids* hit = cache_.find(device_keys[devices[d].front()], now)) {
      settle(d, *hit);
      continue;
    }
    start(d);
    if (flow[d]) ++active;
  }

  while (active > 0) {
    // This round: the next request of every flow; equal requests are sent once.
    std::vector<plan_request> unique;
    std::vector<std::size_t> slot(devices.size(), 0);
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t d = 0; d < devices.size(); ++d) {
      if (!flow[d]) continue;
      const plan_request& rq = flow[d]->request();
      // Equal means the same request: a PUT of another body to the same URL goes in a later round.
      std::string key = describe(rq) + '|' + rq.if_match_version;
      if (rq.resource) key += '|' + to_json(*rq.resource);
      auto [it, fresh] = seen.try_emplace(std::move(key), unique.size());
      if (fresh) unique.push_back(rq);
      slot[d] = it->second;
    }
    std::vector<entry_answer> answers = co_await exchange.send(unique);
    std::vector<search_fold> searches(unique.size());
    std::vector<write_fold> writes(unique.size());
    for (std::size_t u = 0; u < unique.size(); ++u) {
      if (unique[u].method == boost::beast::http::verb::get) {
        search_fold f = co_await exchange.complete_search(unique[u], answers[u]);
        searches[u] = std::move(f);
      } else {
        writes[u] = fold_write(answers[u], unique[u]);
      }
    }
    const auto done_at = std::chrono::steady_clock::now();
    for (std::size_t d = 0; d < devices.size(); ++d) {
      if (!flow[d]) continue;
      if (flow[d]->searching())
        flow[d]->on_search(searches[slot[d]].found);
      else
        flow[d]->on_write(writes[slot[d]]);
      if (!flow[d]->done()) continue;
      const auto& r = flow[d]->result();
      if (r) {
        cache_.put(device_keys[devices[d].front()], *r, done_at);
        settle(d, *r);
        flow[d].reset();
        --active;
      } else {
        results[devices[d][next[d]]] = r.error();  // nothing cached on failure
        flow[d].reset();
        ++next[d];
        start(d);
        if (!flow[d]) --active;
      }
    }
  }
  co_return results;
}

}  // namespace iomt::fhir
