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

// Bundle.entry.response.status: "200", "201 Created", "412 Precondition Failed" -> the code.
unsigned entry_status(const boost::json::object& entry) {
  const auto* resp = entry.if_contains("response");
  if (!resp || !resp->is_object()) return 0;
  const std::string_view s = string_member(resp->get_object(), "status");
  unsigned code = 0;
  std::from_chars(s.data(), s.data() + s.size(), code);
  return code;
}

// The OperationOutcome text of a Bundle entry's response.outcome.
std::string entry_outcome(const boost::json::object& entry) {
  const auto* resp = entry.if_contains("response");
  const auto* oo = resp && resp->is_object() ? resp->get_object().if_contains("outcome") : nullptr;
  if (!oo || !oo->is_object()) return {};
  return operation_outcome_text(to_json(oo->get_object()));
}

const boost::json::object* entry_resource(const boost::json::object& entry) {
  const auto* r = entry.if_contains("resource");
  return r && r->is_object() ? &r->get_object() : nullptr;
}

std::string observation_path(std::string_view id) { return "Observation/" + std::string(id); }

// Per-item state of one batch round.
struct item {
  std::size_t index = 0;  // into writes / results
  bool done = false;      // result already set
  bool have_existing = false;
  bool from_cache = false;
  std::optional<boost::json::object> existing;
  std::optional<boost::json::object> to_write;
  std::string if_match_version;  // empty: create (no If-Match)
};

// The answer to a batch Bundle: its entries when the server processed it.
struct batch_reply {
  bool processed = false;                         // 2xx with one entry per request entry
  bool unsupported = false;                       // 404 / 405 / 501: the server has no batch interaction
  std::optional<mapping::mapping_error> failure;  // no response after retries (network, auth)
  boost::json::array entries;
};

asio::awaitable<batch_reply> post_batch(client& fhir, boost::json::array entries) {
  const std::size_t n = entries.size();
  const boost::json::value bundle =
      boost::json::object{{"resourceType", "Bundle"}, {"type", "batch"}, {"entry", std::move(entries)}};
  const std::string body = to_json(bundle);
  batch_reply reply;
  auto r = co_await fhir.send(boost::beast::http::verb::post, "", body);
  if (!r) {
    reply.failure = r.error();
    co_return reply;
  }
  reply.unsupported = r->status == 404 || r->status == 405 || r->status == 501;
  if (r->status == 429 || (r->status >= 500 && r->status != 501)) {
    // Throttled / failing after the client's retries: the same for every entry.
    reply.failure = status_error("POST [base] (batch)", r->status, failure_cause(*r));
    co_return reply;
  }
  if (r->status < 200 || r->status > 299) co_return reply;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r->body, ec);
  if (ec || !v.is_object()) co_return reply;
  auto* e = v.get_object().if_contains("entry");
  if (!e || !e->is_array() || e->get_array().size() != n) co_return reply;
  reply.entries = std::move(e->get_array());
  reply.processed = true;
  co_return reply;
}

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

// ---- batch path ---------------------------------------------------------------------------------

asio::awaitable<std::vector<mapping::result<save_outcome>>> observation_store::save_batch(
    std::span<const observation_write> writes) {
  std::vector<mapping::result<save_outcome>> results(writes.size(), save_outcome{});
  // Rounds: each takes the first pending write of every identifier, so two writes of one
  // Observation never share a Bundle and are applied in order.
  std::vector<std::size_t> pending(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::vector<std::size_t> round, later;
    std::unordered_set<std::string_view> seen;
    for (std::size_t i : pending) {
      if (seen.insert(writes[i].id).second)
        round.push_back(i);
      else
        later.push_back(i);
    }
    for (std::size_t begin = 0; begin < round.size(); begin += std::max<std::size_t>(options_.max_batch_entries, 1)) {
      const std::size_t n = std::min(round.size() - begin, std::max<std::size_t>(options_.max_batch_entries, 1));
      co_await save_round(writes, std::span<const std::size_t>(round).subspan(begin, n), results);
    }
    pending = std::move(later);
  }
  co_return results;
}

asio::awaitable<void> observation_store::save_round(std::span<const observation_write> writes,
                                                    std::span<const std::size_t> round,
                                                    std::vector<mapping::result<save_outcome>>& results) {
  if (!batch_enabled_ || round.size() == 1) {
    for (std::size_t i : round) results[i] = co_await save(writes[i]);
    co_return;
  }
  std::vector<item> items(round.size());
  const auto now = steady::now();
  std::vector<std::size_t> misses;  // positions in items
  for (std::size_t k = 0; k < round.size(); ++k) {
    items[k].index = round[k];
    if (const boost::json::object* cached = cache_.find(cache_key(writes[round[k]].identifier), now)) {
      items[k].existing = *cached;  // a copy: the batch search below suspends
      items[k].have_existing = true;
      items[k].from_cache = true;
    } else {
      misses.push_back(k);
    }
  }

  // 1. Look the misses up: one batch Bundle of searches.
  if (misses.size() > 1) {
    boost::json::array entries;
    entries.reserve(misses.size());
    for (std::size_t k : misses) {
      const auto& id = writes[items[k].index].identifier;
      entries.push_back(boost::json::object{
          {"request",
           boost::json::object{{"method", "GET"}, {"url", identifier_query("Observation", id.system, id.value)}}}});
    }
    batch_reply reply = co_await post_batch(client_, std::move(entries));
    if (reply.unsupported) batch_enabled_ = false;
    const boost::json::array* answers = reply.processed ? &reply.entries : nullptr;
    for (std::size_t m = 0; answers && m < misses.size(); ++m) {
      item& it = items[misses[m]];
      const auto& id = writes[it.index].identifier;
      const auto* entry = (*answers)[m].if_object();
      const auto* bundle = entry ? entry_resource(*entry) : nullptr;
      if (!entry || entry_status(*entry) != 200 || !bundle) continue;  // looked up one by one below
      auto page = parse_search_bundle(*bundle);
      if (!page || page->next || (page->total && *page->total > static_cast<std::int64_t>(page->resources.size())))
        continue;  // paged result: one by one below
      keep_exact_matches(page->resources, id.system, id.value);
      if (page->resources.size() > 1) {
        results[it.index] = multiple_found("Observation", page->resources.size(), "(identifier " + cache_key(id) + ")");
        it.done = true;
        continue;
      }
      if (!page->resources.empty()) it.existing = std::move(page->resources.front());
      it.have_existing = true;
    }
    if (reply.failure) {
      // Network / auth failure after retries: no point in trying each one.
      for (std::size_t k : misses) {
        results[items[k].index] = *reply.failure;
        items[k].done = true;
      }
    }
  }
  for (std::size_t k : misses) {
    item& it = items[k];
    if (it.done || it.have_existing) continue;
    auto found = co_await find(writes[it.index].identifier);
    if (!found) {
      results[it.index] = found.error();
      it.done = true;
      continue;
    }
    it.existing = std::move(*found);
    it.have_existing = true;
  }

  // 2. Create or merge; unchanged ones are done without a request.
  std::vector<std::size_t> to_send;
  for (std::size_t k = 0; k < items.size(); ++k) {
    item& it = items[k];
    if (it.done) continue;
    const observation_write& w = writes[it.index];
    // Remember what the server holds: fallbacks to save() start from here without a search.
    if (it.existing && !it.from_cache) cache_.put(cache_key(w.identifier), *it.existing, steady::now());
    if (!it.existing) {
      auto created = w.source->create();
      if (!created) {
        results[it.index] = created.error();
        it.done = true;
        continue;
      }
      it.to_write = std::move(*created);
    } else {
      auto merged = w.source->merge(*it.existing);
      if (!merged) {
        results[it.index] = merged.error();
        it.done = true;
        continue;
      }
      if (!merged->changed) {
        results[it.index] = save_outcome{save_operation::no_op, false, 0};
        it.done = true;
        continue;
      }
      it.to_write = std::move(merged->observation);
      it.if_match_version = std::string(version_id(*it.existing));
    }
    to_send.push_back(k);
  }
  if (to_send.empty()) co_return;
  if (to_send.size() == 1 || !batch_enabled_) {
    for (std::size_t k : to_send) results[items[k].index] = co_await save(writes[items[k].index]);
    co_return;
  }

  // 3. One batch Bundle of PUTs.
  boost::json::array entries;
  entries.reserve(to_send.size());
  for (std::size_t k : to_send) {
    item& it = items[k];
    boost::json::object request{{"method", "PUT"}, {"url", observation_path(writes[it.index].id)}};
    if (!it.if_match_version.empty()) request["ifMatch"] = weak_etag(it.if_match_version);
    entries.push_back(boost::json::object{{"resource", std::move(*it.to_write)}, {"request", std::move(request)}});
  }
  batch_reply reply = co_await post_batch(client_, std::move(entries));
  if (reply.failure) {
    for (std::size_t k : to_send) results[items[k].index] = *reply.failure;
    co_return;
  }
  if (!reply.processed) {
    // Refused as a whole (some servers fail the Bundle for one invalid resource) or no batch
    // support: write one by one, which also pins an error on the right Observation.
    if (reply.unsupported) batch_enabled_ = false;
    for (std::size_t k : to_send) results[items[k].index] = co_await save(writes[items[k].index]);
    co_return;
  }
  const boost::json::array& answers = reply.entries;
  for (std::size_t m = 0; m < to_send.size(); ++m) {
    item& it = items[to_send[m]];
    const observation_write& w = writes[it.index];
    const auto* entry = answers[m].if_object();
    const unsigned status = entry ? entry_status(*entry) : 0;
    if (status >= 200 && status <= 299) {
      save_outcome outcome;
      outcome.operation = it.existing ? save_operation::updated : save_operation::created;
      boost::json::object stored;
      if (const auto* r = entry_resource(*entry)) {
        stored = *r;
      } else {
        // No resource in the answer: drop the cache entry, the next save re-reads.
        cache_.erase(cache_key(w.identifier));
        results[it.index] = outcome;
        continue;
      }
      if (outcome.operation == save_operation::created) outcome.contention = version_id(stored) == "2";
      cache_.put(cache_key(w.identifier), std::move(stored), steady::now());
      results[it.index] = outcome;
    } else if (status == 409 || status == 412) {
      // Conflict: re-read and redo on the single path (§12 step 5).
      cache_.erase(cache_key(w.identifier));
      auto r = co_await save(w);
      if (r) ++r->conflict_retries;
      results[it.index] = std::move(r);
    } else if (status == 429 || status == 503 || (status >= 500 && status != 501)) {
      results[it.index] = co_await save(w);  // transient per-entry failure: the single path retries
    } else {
      std::string cause = status ? status_text(status) : std::string("no status in the batch response");
      if (entry)
        if (std::string oo = entry_outcome(*entry); !oo.empty()) cause += ": " + oo;
      results[it.index] = status ? status_error("PUT " + observation_path(w.id) + " (batch entry)", status, cause)
                                 : client_error("PUT " + observation_path(w.id) + " (batch entry)", cause,
                                                mapping::failure_class::transient);
    }
  }
}

}  // namespace iomt::fhir
