#include "fhir/observation_store.hpp"

#include "fhir/errors.hpp"
#include "fhir/retry.hpp"
#include "fhir/search.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <unordered_set>

namespace iomt::fhir {

namespace asio = boost::asio;
using mapping::fhir::observation_identifier;
using steady = std::chrono::steady_clock;

namespace {

std::string observation_path(std::string_view id) { return "Observation/" + std::string(id); }

}  // namespace

// ---- template_source --------------------------------------------------------------------------

mapping::result<boost::json::object> template_source::create() const {
  return mapping::fhir::create_observation(group_, tpl_, ids_, issued_);
}

mapping::result<mapping::fhir::merge_outcome> template_source::merge(const boost::json::object& existing) const {
  return mapping::fhir::merge_observation(existing, group_, tpl_);
}

// ---- helpers ----------------------------------------------------------------------------------

const char* to_string(save_operation op) noexcept {
  switch (op) {
    case save_operation::created:
      return "ObservationCreated";
    case save_operation::updated:
      return "ObservationUpdated";
    case save_operation::no_op:
      return "ObservationNoOperation";
  }
  return "ObservationNoOperation";
}

std::string cache_key(const observation_identifier& identifier) {
  std::string k = identifier.system;
  k += '|';
  k += identifier.value;
  return k;
}

asio::awaitable<mapping::result<std::optional<boost::json::object>>> observation_store::find(
    const observation_identifier& identifier) {
  auto found = co_await client_.search_identifier("Observation", identifier.system, identifier.value);
  if (!found) co_return found.error();
  keep_exact_matches(*found, identifier.system, identifier.value);
  if (found->size() > 1)
    co_return multiple_found("Observation", found->size(), "(identifier " + cache_key(identifier) + ")");
  if (found->empty()) co_return std::optional<boost::json::object>{};
  co_return std::optional<boost::json::object>(std::move(found->front()));
}

// ---- single path (iomt-spec §12) ---------------------------------------------------------------

asio::awaitable<mapping::result<save_outcome>> observation_store::save(const observation_write& write) {
  const std::string key = cache_key(write.identifier);
  // `existing` points at the cached copy or at `fetched`; the cache entry is only read before the
  // first suspension (another coroutine of the shard may evict it while we wait).
  std::optional<boost::json::object> fetched;
  const boost::json::object* existing = cache_.find(key, steady::now());
  if (!existing) {
    auto found = co_await find(write.identifier);
    if (!found) co_return found.error();
    fetched = std::move(*found);
    existing = fetched ? &*fetched : nullptr;
  }

  save_outcome outcome;
  for (;;) {
    put_result written;
    if (!existing) {
      auto created = write.source->create();
      if (!created) co_return created.error();
      auto put = co_await client_.put(std::move(*created));  // upsert: no If-Match (§12 step 3)
      if (!put) co_return put.error();
      written = std::move(*put);
      if (!written.conflict) {
        outcome.operation = save_operation::created;
        outcome.contention = version_id(written.resource) == "2";
      }
    } else {
      auto merged = write.source->merge(*existing);
      if (!merged) co_return merged.error();
      if (!merged->changed) {
        if (fetched) cache_.put(key, std::move(*fetched), steady::now());
        outcome.operation = save_operation::no_op;
        co_return outcome;
      }
      const std::string version(version_id(*existing));
      existing = nullptr;
      auto put = co_await client_.put(std::move(merged->observation), version);  // If-Match (§12 step 4)
      if (!put) co_return put.error();
      written = std::move(*put);
      if (!written.conflict) outcome.operation = save_operation::updated;
    }
    if (!written.conflict) {
      cache_.put(key, std::move(written.resource), steady::now());  // §12 step 6
      co_return outcome;
    }
    // 409 / 412: someone else wrote it. Re-read (not from the cache) and redo (§12 step 5).
    cache_.erase(key);
    if (outcome.conflict_retries >= options_.max_conflict_retries)
      // Others keep writing this Observation: a later attempt re-reads and merges again.
      co_return client_error("PUT " + observation_path(write.id),
                             status_text(written.status) + ": still conflicting after " +
                                 std::to_string(outcome.conflict_retries) + " re-reads",
                             mapping::failure_class::transient);
    ++outcome.conflict_retries;
    auto found = co_await find(write.identifier);
    if (!found) co_return found.error();
    fetched = std::move(*found);
    existing = fetched ? &*fetched : nullptr;
  }
}

// ---- flush path -------------------------------------------------------------------------------

chain_result apply_chain(std::span<const observation_write* const> chain, const boost::json::object* existing) {
  chain_result out;
  out.steps.reserve(chain.size());
  const boost::json::object* base = existing;  // what the next write starts from
  for (const observation_write* w : chain) {
    if (!base) {
      auto created = w->source->create();
      if (!created) {
        out.steps.push_back({save_operation::no_op, created.error()});
        continue;  // nothing stored: the next write creates it (§12 step 3)
      }
      out.to_write = std::move(*created);
      out.creates = true;
      out.steps.push_back({save_operation::created, std::nullopt});
    } else {
      auto merged = w->source->merge(*base);
      if (!merged) {
        out.steps.push_back({save_operation::no_op, merged.error()});
        continue;
      }
      if (!merged->changed) {
        out.steps.push_back({save_operation::no_op, std::nullopt});
        continue;
      }
      out.to_write = std::move(merged->observation);
      out.steps.push_back({save_operation::updated, std::nullopt});
    }
    base = &*out.to_write;
  }
  return out;
}

asio::awaitable<std::vector<mapping::result<save_outcome>>> observation_store::save_batch(
    std::span<const observation_write> writes) {
  std::vector<mapping::result<save_outcome>> r = co_await save_all(writes, exchange_);
  co_return r;
}

asio::awaitable<std::vector<mapping::result<save_outcome>>> observation_store::save_all(
    std::span<const observation_write> writes, batch_exchange& exchange) {
  std::vector<mapping::result<save_outcome>> results(writes.size(), save_outcome{});
  std::vector<std::string> keys;
  keys.reserve(writes.size());
  for (const auto& w : writes) keys.push_back(cache_key(w.identifier));

  // One chain per Observation: its writes in flush order, written once (iomt-spec §12).
  std::vector<chain> chains;
  for (auto& positions : chains_by_key(keys)) {
    chain c;
    for (std::size_t i : positions) c.writes.push_back(&writes[i]);
    c.index = std::move(positions);
    chains.push_back(std::move(c));
  }
  // Slices of one Bundle's worth of Observations, written by max_in_flight lanes at once: each
  // lane searches its slice's cache misses, then PUTs its slice, then takes the next slice, so the
  // server always has work while a lane waits for its answers (with one barrier per phase across
  // all lanes, the slowest Bundle of each phase left the others' connections idle). Slices hold
  // distinct Observations (chains_by_key), so lanes never touch the same one; a flush of thousands
  // never holds more than max_in_flight slices of resources, searches and answers at once.
  const std::size_t slice = std::max<std::size_t>(exchange.max_entries(), 1);
  const std::size_t slices = (chains.size() + slice - 1) / slice;
  const std::function<asio::awaitable<void>(std::size_t)> lane = [&](std::size_t s) -> asio::awaitable<void> {
    const std::size_t first = s * slice;
    const std::span<chain> part = std::span(chains).subspan(first, std::min(slice, chains.size() - first));
    co_await save_slice(part, keys, results, exchange);
    for (auto& c : part) c = chain{};  // its resources are no longer needed
  };
  co_await run_bounded(slices, exchange.max_in_flight(), lane);
  co_return results;
}

asio::awaitable<void> observation_store::save_slice(std::span<chain> chains, std::span<const std::string> keys,
                                                    std::vector<mapping::result<save_outcome>>& results,
                                                    batch_exchange& exchange) {
  auto fail = [&results](const chain& c, const mapping::mapping_error& e) {
    for (std::size_t i : c.index) results[i] = e;
  };
  const auto now = steady::now();
  for (auto& c : chains) {
    if (const boost::json::object* cached = cache_.find(keys[c.index.front()], now)) {
      c.existing = *cached;  // a copy: the cache may change while we wait for answers
      c.known = true;
    }
  }

  for (;;) {
    // 1. Search what the cache does not hold (again, after a conflict), ignoring the cache.
    std::vector<plan_request> searches;
    std::vector<chain*> searched;
    for (auto& c : chains) {
      if (c.done || c.known) continue;
      const auto& id = c.writes.front()->identifier;
      plan_request rq;
      rq.url = identifier_query("Observation", id.system, id.value);
      rq.key = keys[c.index.front()];
      searches.push_back(std::move(rq));
      searched.push_back(&c);
    }
    if (!searches.empty()) {
      std::vector<entry_answer> answers = co_await exchange.send(searches);
      for (std::size_t k = 0; k < searches.size(); ++k) {
        chain& c = *searched[k];
        const std::string& key = searches[k].key;
        search_fold found = co_await exchange.complete_search(searches[k], answers[k]);
        if (!found.found) {
          fail(c, found.found.error());
          c.done = true;
          continue;
        }
        const auto& id = c.writes.front()->identifier;
        keep_exact_matches(*found.found, id.system, id.value);
        if (found.found->size() > 1) {
          fail(c, multiple_found("Observation", found.found->size(), "(identifier " + key + ")"));
          c.done = true;
          continue;
        }
        c.known = true;
        c.existing.reset();
        if (!found.found->empty()) {
          c.existing = std::move(found.found->front());
          cache_.put(key, *c.existing, steady::now());  // what the server holds
        }
      }
    }

    // 2. Create or merge each chain's writes in order; chains with a change are written once.
    std::vector<plan_request> puts;
    std::vector<std::pair<chain*, chain_result>> written;
    for (auto& c : chains) {
      if (c.done) continue;
      chain_result applied = apply_chain(c.writes, c.existing ? &*c.existing : nullptr);
      for (std::size_t k = 0; k < c.index.size(); ++k) {
        const chain_step& step = applied.steps[k];
        if (step.error)
          results[c.index[k]] = *step.error;
        else
          results[c.index[k]] = save_outcome{step.operation, false, c.conflicts};
      }
      if (!applied.to_write) {
        c.done = true;  // nothing changed: no request (ObservationNoOperation)
        continue;
      }
      plan_request rq;
      rq.method = boost::beast::http::verb::put;
      rq.url = observation_path(c.writes.front()->id);
      rq.resource = std::move(applied.to_write);
      if (!applied.creates) rq.if_match_version = std::string(version_id(*c.existing));  // §12 step 4
      rq.key = keys[c.index.front()];
      puts.push_back(std::move(rq));
      written.emplace_back(&c, std::move(applied));
    }
    if (puts.empty()) break;

    // 3. The PUTs, and what their answers mean for each write.
    std::vector<entry_answer> answers = co_await exchange.send(puts);
    for (std::size_t k = 0; k < puts.size(); ++k) {
      chain& c = *written[k].first;
      const chain_result& applied = written[k].second;
      const std::string& key = puts[k].key;
      write_fold f = fold_write(std::move(answers[k]), puts[k]);
      if (f.kind == write_kind::written) {
        const bool contention = f.resource && version_id(*f.resource) == "2";  // §12 step 3
        for (std::size_t w = 0; w < c.index.size(); ++w)
          if (!applied.steps[w].error && applied.steps[w].operation == save_operation::created && results[c.index[w]])
            results[c.index[w]]->contention = contention;
        if (f.resource)
          cache_.put(key, std::move(*f.resource), steady::now());  // §12 step 6
        else
          cache_.erase(key);  // unknown version: the next save re-reads
        c.done = true;
        continue;
      }
      // The writes this failure stands for: those that changed the Observation and every later
      // one (they were applied to the unsaved result); earlier unchanged ones are done.
      auto fail_from_first_change = [&](const mapping::mapping_error& e) {
        bool changed = false;
        for (std::size_t w = 0; w < c.index.size(); ++w) {
          if (applied.steps[w].error) continue;  // its own error stands
          changed = changed || applied.steps[w].operation != save_operation::no_op;
          if (changed) results[c.index[w]] = e;
        }
      };
      if (f.kind == write_kind::conflict) {
        // Someone else wrote it: re-read (not from the cache) and apply the writes again (§12 step 5).
        cache_.erase(key);
        if (c.conflicts >= options_.max_conflict_retries) {
          // Others keep writing this Observation: a later attempt re-reads and merges again.
          fail_from_first_change(client_error(
              "PUT " + observation_path(c.writes.front()->id),
              status_text(f.status) + ": still conflicting after " + std::to_string(c.conflicts) + " re-reads",
              mapping::failure_class::transient));
          c.done = true;
          continue;
        }
        ++c.conflicts;
        c.known = false;
        c.existing.reset();
        continue;
      }
      c.done = true;
      if (c.writes.size() > 1 && !mapping::is_transient(f.error->cls)) {
        // Several groups made this write and the server refuses it for good: write them one by
        // one, so that the error lands on the group(s) that cause it, as it did upstream.
        cache_.erase(key);
        for (std::size_t w = 0; w < c.index.size(); ++w) {
          mapping::result<save_outcome> one = co_await save(*c.writes[w]);
          results[c.index[w]] = std::move(one);
        }
        continue;
      }
      fail_from_first_change(*f.error);
    }
  }
}

}  // namespace iomt::fhir
