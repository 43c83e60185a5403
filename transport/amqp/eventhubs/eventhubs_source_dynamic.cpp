// Dynamic partition ownership of the Event Hubs source (eventhubs_source.hpp, docs/scaling.md):
// the balancing thread and the hand-over of partitions. The decision is partition_balancer.hpp;
// this file does the I/O around it:
//
//   every balance_interval:  reap connections that finished draining (final checkpoint flush)
//                            list the ownership records            (blob_ownership_store)
//                            stop partitions another owner holds   (lost)
//                            plan_balance()                        (renew / claim / steal)
//                            write each planned record (If-Match / If-None-Match: *)
//                            a new partition: read its checkpoint again, then open its connection
//   stop():                  stop balancing, drain every connection, flush the checkpoints, then
//                            release the records (owner "") so the others take over at once
//
// A replica that cannot renew (storage unreachable) stops reading a partition before its record
// can expire, so no other processor ever reads it at the same time for longer than one interval.
#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/eventhubs/eventhubs_source_parts.hpp"
#include "transport/amqp/source_runtime.hpp"

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <random>
#include <stdexcept>

namespace iomt::transport::amqp::eventhubs {

namespace {

std::string default_owner_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "iomtflow");
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return std::string(host) + "-" + suffix;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void add_counters(source_stats& s, const consumer_stats& c, const connection& conn) {
  source_stats one;
  runtime::add(one, c, conn);
  s.received += one.received;
  s.submitted += one.submitted;
  s.busy += one.busy;
  s.accepted += one.accepted;
  s.released += one.released;
  s.modified += one.modified;
  s.rejected += one.rejected;
  s.decode_errors += one.decode_errors;
  s.attempts += one.attempts;
  s.failures += one.failures;
  for (int i = 0; i < 16; ++i) s.failures_by_kind[i] += one.failures_by_kind[i];
}

}  // namespace

void eventhubs_source::open_dynamic() {
  owner_id_ = options_.owner_id.empty() ? default_owner_id() : options_.owner_id;
  blob_store_ = dynamic_cast<blob_checkpoint_store*>(store_.get());
  if (!blob_store_) throw std::runtime_error("Event Hubs: ownership dynamic needs the blob checkpoint store");
  blob_store_->set_shared(true);
  auto [records, err] =
      blob_ownership_store::open(options_.checkpoint_blob, account_.host, hub_, options_.consumer_group);
  if (err) throw std::runtime_error(err.message());
  records_ = std::move(records);
  // Fail at start-up, not in the first round, when the records cannot be read (wrong key, ...).
  if (auto listed = records_->list(); !listed) throw std::runtime_error(listed.error().message());
  discovery_ = make_worker({}, true, "discovery");
  if (log_)
    log_(0,
         "Event Hubs: dynamic partition ownership as '" + owner_id_ + "' in consumer group " + options_.consumer_group +
             " (records in container '" + records_->container() + "', balancing every " +
             std::to_string(options_.balance_interval.count()) + " ms, expiry " +
             std::to_string(options_.ownership_expiry.count()) + " ms)",
         "");
}

void eventhubs_source::balance_loop() {
  std::unique_lock lock(wake_mu_);
  while (!balancer_stop_.load()) {
    lock.unlock();
    try {
      balance_round();
    } catch (const std::exception& e) {  // a bug: keep balancing, say so
      counters_.failures.fetch_add(1, std::memory_order_relaxed);
      if (log_) log_(2, std::string("Event Hubs: balancing round failed: ") + e.what(), "");
    }
    lock.lock();
    wake_.wait_for(lock, options_.balance_interval,
                   [this] { return balancer_stop_.load() || reap_due_.exchange(false); });
  }
}

void eventhubs_source::retire(std::unique_ptr<worker> w) {
  // Under dyn_mu_. Its counters stay in the totals; the object itself is destroyed one round later
  // (its connection is closed, nothing of it runs any more).
  add_counters(retired_stats_, w->receiver.stats(), *w->conn);
  retired_stats_.lag_query_failures += w->handler.lag_query_failures();
  retired_.push_back(std::move(w));
}

void eventhubs_source::stop_partition(const std::string& id, owned_partition& p, const std::string& why) {
  // Under dyn_mu_.
  if (p.state != owned_partition::running) return;
  p.state = owned_partition::stopping;
  p.w->conn->stop([flag = p.stopped, this] {
    flag->store(true);
    std::lock_guard l(wake_mu_);  // reap it soon: its checkpoint is what the next owner resumes from
    reap_due_ = true;
    wake_.notify_all();
  });
  if (log_) log_(0, "Event Hubs: partition " + id + " " + why + ": draining it", "");
}

void eventhubs_source::reap_stopped() {
  std::vector<std::pair<std::string, std::string>> restart;  // partition, etag of our record
  bool any = false;
  {
    std::lock_guard l(dyn_mu_);
    retired_.clear();  // retired a round ago
    for (auto it = owned_.begin(); it != owned_.end();) {
      auto& p = *it->second;
      if (p.state == owned_partition::stopping && p.stopped->load()) {
        any = true;
        retire(std::move(p.w));
        if (p.reclaimed) restart.emplace_back(it->first, p.etag);
        it = owned_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // What the drained connections completed is written before anyone else resumes from it.
  if (any)
    if (auto err = store_->flush(); err && log_) log_(1, "Event Hubs: " + err.message(), "");
  for (const auto& [id, etag] : restart) {
    if (auto err = blob_store_->refresh(id); err && log_) log_(1, "Event Hubs: " + err.message(), "");
    auto p = std::make_unique<owned_partition>();
    p->etag = etag;
    p->w = make_worker({id}, false, id);
    p->renewed = std::chrono::steady_clock::now();
    p->w->conn->start();
    std::lock_guard l(dyn_mu_);
    owned_[id] = std::move(p);
  }
}

void eventhubs_source::balance_round() {
  reap_stopped();
  std::vector<std::string> ids;
  {
    std::lock_guard l(dyn_mu_);
    ids = partitions_;
  }
  if (ids.empty()) return;  // discovery has not answered yet

  const auto now = std::chrono::steady_clock::now();
  auto listed = records_->list();
  if (!listed) {
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    round_ok_ = false;
    if (!list_failing_ && log_)
      log_(1, "Event Hubs: cannot read the ownership records: " + listed.error().message(), "");
    list_failing_ = true;
    stop_unrenewed(now);
    return;
  }
  if (list_failing_ && log_) log_(0, "Event Hubs: the ownership records can be read again", "");
  list_failing_ = false;
  const auto& records = *listed;

  // Partitions we read that the records give to someone else: let go.
  {
    std::lock_guard l(dyn_mu_);
    for (auto& [id, p] : owned_) {
      if (p->state != owned_partition::running) continue;
      auto r =
          std::find_if(records.begin(), records.end(), [&](const ownership_record& x) { return x.partition == id; });
      if (r != records.end() && r->owner == owner_id_) continue;
      counters_.lost.fetch_add(1, std::memory_order_relaxed);
      stop_partition(id, *p, "is now owned by '" + (r == records.end() ? std::string("nobody") : r->owner) + "'");
    }
  }

  balance_options bo;
  bo.expiry = options_.ownership_expiry;
  bo.max_steals = options_.max_steals;
  const auto plan = plan_balance(owner_id_, ids, records, unix_ms_now(), bo);
  counters_.processors.store(plan.processors, std::memory_order_relaxed);

  bool failed = false;
  for (const auto& c : plan.claims) {
    if (balancer_stop_.load()) break;
    auto out = records_->claim(c.partition, owner_id_, c.etag);
    if (!out.claimed) {
      if (out.conflict) {
        counters_.conflicts.fetch_add(1, std::memory_order_relaxed);
        std::unique_lock l(dyn_mu_);
        auto it = owned_.find(c.partition);
        if (it != owned_.end() && it->second->state == owned_partition::running) {
          // Still reading it on an old (or expired) record: someone else wrote it first.
          counters_.lost.fetch_add(1, std::memory_order_relaxed);
          stop_partition(c.partition, *it->second, "was written by another processor before this one renewed it");
        } else if (log_) {
          l.unlock();
          log_(0,
               "Event Hubs: " + std::string(claim_kind_name(c.kind)) + " of partition " + c.partition +
                   " lost the race to another processor",
               "");
        }
      } else {
        counters_.failures.fetch_add(1, std::memory_order_relaxed);
        if (!failed && log_) log_(1, "Event Hubs: ownership write failed: " + out.failure.message(), "");
        failed = true;
      }
      continue;
    }
    switch (c.kind) {
      case claim_kind::renew:
        counters_.renewals.fetch_add(1, std::memory_order_relaxed);
        break;
      case claim_kind::claim:
        counters_.claims.fetch_add(1, std::memory_order_relaxed);
        break;
      case claim_kind::steal:
        counters_.steals.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    if (log_) {
      std::string what = "Event Hubs: " + std::string(claim_kind_name(c.kind)) + " partition " + c.partition;
      if (c.kind == claim_kind::steal) what += " from '" + c.previous_owner + "'";
      if (c.kind == claim_kind::claim && !c.previous_owner.empty())
        what += " (expired owner '" + c.previous_owner + "')";
      what += " as '" + owner_id_ + "' (" + std::to_string(plan.processors) + " processors, target " +
              std::to_string(plan.target) + ")";
      log_(c.kind == claim_kind::renew ? -1 : 0, what, "");
    }
    std::unique_lock l(dyn_mu_);
    auto it = owned_.find(c.partition);
    if (it != owned_.end()) {
      it->second->etag = out.record.etag;
      it->second->renewed = now;
      if (it->second->state == owned_partition::stopping) it->second->reclaimed = true;
      continue;
    }
    l.unlock();
    // A partition new to this replica: resume from the checkpoint as its last owner left it.
    if (auto err = blob_store_->refresh(c.partition); err && log_) log_(1, "Event Hubs: " + err.message(), "");
    auto p = std::make_unique<owned_partition>();
    p->etag = out.record.etag;
    p->renewed = now;
    p->w = make_worker({c.partition}, false, c.partition);
    p->w->conn->start();
    l.lock();
    owned_[c.partition] = std::move(p);
  }
  stop_unrenewed(now);
  counters_.rounds.fetch_add(1, std::memory_order_relaxed);
  round_ok_ = !failed;
}

void eventhubs_source::stop_unrenewed(std::chrono::steady_clock::time_point now) {
  // Not renewed for (almost) the expiry: another processor may claim it any moment now, so stop
  // reading it before that can happen.
  std::lock_guard l(dyn_mu_);
  for (auto& [id, p] : owned_)
    if (p->state == owned_partition::running &&
        now - p->renewed >= options_.ownership_expiry - options_.balance_interval) {
      counters_.lost.fetch_add(1, std::memory_order_relaxed);
      stop_partition(id, *p, "could not be renewed before its ownership expires");
    }
}

void eventhubs_source::stop_dynamic() {
  {
    std::lock_guard l(wake_mu_);
    balancer_stop_ = true;
    wake_.notify_all();
  }
  if (balancer_.joinable()) balancer_.join();
  // Drain every connection (in parallel), then end the threads.
  std::vector<std::future<void>> done;
  auto stop_one = [&done](worker& w) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    w.conn->stop([promise] { promise->set_value(); });
  };
  std::vector<std::pair<std::string, std::string>> release;  // partition, etag
  {
    std::lock_guard l(dyn_mu_);
    for (auto& [id, p] : owned_) {
      if (p->state == owned_partition::running) release.emplace_back(id, p->etag);
      if (!p->stopped->load()) stop_one(*p->w);
    }
    if (discovery_) stop_one(*discovery_);
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout + std::chrono::seconds(10);
  for (auto& f : done) f.wait_until(deadline);
  io_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // The final checkpoints, then the records: whoever claims a released partition resumes after
  // everything this replica completed.
  if (async_store_)
    if (auto err = async_store_->flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
  const auto flushed = store_->flush();
  if (flushed && log_) log_(2, "Event Hubs: " + flushed.message(), "");
  for (const auto& [id, etag] : release) {
    auto out = records_->release(id, etag);
    if (out.claimed) {
      counters_.releases.fetch_add(1, std::memory_order_relaxed);
      if (log_) log_(0, "Event Hubs: released partition " + id + " as '" + owner_id_ + "'", "");
    } else if (out.conflict) {
      counters_.conflicts.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.failures.fetch_add(1, std::memory_order_relaxed);
      if (log_)
        log_(1,
             "Event Hubs: could not release partition " + id + " (" + out.failure.message() +
                 "): the others take it over when its record expires",
             "");
    }
  }
  std::lock_guard l(dyn_mu_);
  for (auto& [id, p] : owned_) retire(std::move(p->w));
  owned_.clear();
  if (discovery_) retire(std::move(discovery_));
}

}  // namespace iomt::transport::amqp::eventhubs
