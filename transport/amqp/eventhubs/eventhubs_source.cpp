#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/eventhubs/eventhubs_source_parts.hpp"
#include "transport/amqp/source_runtime.hpp"

#include <boost/asio/strand.hpp>

#include <algorithm>
#include <stdexcept>

namespace iomt::transport::amqp::eventhubs {

namespace asio = boost::asio;

std::optional<ownership_mode> parse_ownership_mode(std::string_view text) {
  if (text == "static") return ownership_mode::fixed;
  if (text == "dynamic") return ownership_mode::dynamic;
  return std::nullopt;
}

eventhubs_source::eventhubs_source(eventhubs_source_options options, event_sink& sink, log_hook log)
    : options_(std::move(options)), sink_(sink), log_(std::move(log)) {
  auto cs = parse_connection_string(options_.connection_string);
  if (!cs) throw std::runtime_error(cs.error().message());
  account_ = *cs;
  hub_ = !options_.eventhub.empty() ? options_.eventhub : cs->entity_path;
  if (hub_.empty())
    throw std::runtime_error("Event Hubs: no event hub (EntityPath in the connection string, or eventhub)");
  const bool dynamic = options_.ownership == ownership_mode::dynamic;
  if (options_.connections == 0) options_.connections = 1;
  if (options_.threads == 0) options_.threads = 1;
  if (options_.replica_count == 0) options_.replica_count = 1;
  if (options_.replica_index >= options_.replica_count)
    throw std::runtime_error("Event Hubs: replica_index " + std::to_string(options_.replica_index) +
                             " is not below replica_count " + std::to_string(options_.replica_count));
  if (dynamic && options_.checkpoint_store_kind != checkpoint_kind::blob)
    throw std::runtime_error(
        "Event Hubs: ownership dynamic keeps its ownership records in Blob Storage: set checkpoint_store: blob");
  if (dynamic && options_.ownership_expiry <= options_.balance_interval)
    throw std::runtime_error("Event Hubs: ownership_expiry must be longer than balance_interval");
  checkpoint_options cpo;
  cpo.kind = options_.checkpoint_store_kind;
  cpo.file_dir = options_.checkpoint_dir;
  cpo.blob = options_.checkpoint_blob;
  auto [store, err] = open_checkpoint_store(cpo, cs->host, hub_, options_.consumer_group);
  if (err) throw std::runtime_error(err.message());
  store_ = std::move(store);
  // The file store's flush is a local write (as before); the blob store's is network I/O, which
  // must not stall the AMQP threads that call flush() on their timers.
  if (options_.checkpoint_store_kind == checkpoint_kind::blob)
    async_store_ = std::make_unique<background_flush_store>(*store_);
  handler_store_ = async_store_ ? static_cast<checkpoint_store*>(async_store_.get()) : store_.get();

  tls_ = options_.tls;
  tls_.enabled = cs->tls;
  ctx_ = cs->tls ? make_tls_context(tls_) : std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  io_ = std::make_unique<asio::io_context>(static_cast<int>(options_.threads));
  if (dynamic) {
    open_dynamic();
    return;
  }
  for (std::uint32_t i = 0; i < options_.connections; ++i) {
    auto w = make_worker({}, false, std::to_string(i));
    workers_.push_back(std::move(w));
  }
}

std::unique_ptr<eventhubs_source::worker> eventhubs_source::make_worker(std::vector<std::string> partitions,
                                                                        bool discover_only, std::string name) {
  const std::uint32_t i = next_worker_++;
  handler_options ho;
  ho.account = account_;
  ho.eventhub = hub_;
  ho.consumer_group = options_.consumer_group;
  ho.epoch = options_.epoch;
  if (options_.ownership == ownership_mode::dynamic) {
    ho.owner.partitions = std::move(partitions);
    ho.owner.discover_only = discover_only;
    // Owner level 0, as the SDK processors open their receivers: whoever claimed a partition last
    // detaches the previous reader at the service (amqp:link:stolen), SDK processor or replica.
    if (ho.epoch < 0) ho.epoch = 0;
    ho.on_link_stolen = [this] {  // re-read the records now rather than at the next round
      std::lock_guard l(wake_mu_);
      reap_due_ = true;
      wake_.notify_all();
    };
  } else {
    ho.owner = {options_.partitions, options_.replica_index, options_.replica_count, i, options_.connections};
  }
  ho.start_position = options_.start_position;
  ho.token_lifetime = options_.token_lifetime;
  ho.checkpoint_interval = options_.checkpoint_interval;
  ho.lag_interval = discover_only ? std::chrono::milliseconds(0) : options_.lag_interval;
  if (discover_only)
    ho.on_discovered = [this](const std::vector<std::string>& ids) {
      std::lock_guard l(dyn_mu_);
      partitions_ = ids;
    };
  auto w = std::make_unique<worker>(options_.consumer, sink_, std::move(ho), *handler_store_, log_);
  connection_options co;
  co.host = account_.host;
  co.port = account_.port;
  co.tls = tls_;
  co.amqp.container_id = options_.container_id + "-eh-" + std::to_string(i);
  co.amqp.hostname = account_.host;
  co.amqp.mechanisms = options_.sasl_mechanisms;
  if (options_.sasl_mechanisms.find("PLAIN") != std::string::npos) {  // SAS key name / key as SASL PLAIN
    co.amqp.user = account_.key_name;
    co.amqp.password = account_.key;
  }
  co.amqp.encrypted = account_.tls;
  co.amqp.idle_timeout = options_.idle_timeout;
  co.connect_timeout = options_.connect_timeout;
  co.reconnect_initial = options_.reconnect_initial;
  if (options_.ownership == ownership_mode::dynamic && !discover_only)
    // A partition's receiver detached for a new owner (amqp:link:stolen) must not come straight
    // back and detach that owner in turn: give the balancing thread (woken at once) time to see
    // the records and let the partition go.
    co.reconnect_initial =
        std::max(co.reconnect_initial, std::min(options_.balance_interval, std::chrono::milliseconds(2000)));
  co.reconnect_max = options_.reconnect_max;
  co.drain_timeout = options_.drain_timeout;
  co.name = "eventhubs[" + name + "] " + account_.host + "/" + hub_;
  w->conn = std::make_unique<connection>(asio::make_strand(*io_), std::move(co), w->handler, ctx_, log_);
  return w;
}

eventhubs_source::~eventhubs_source() { stop(); }

void eventhubs_source::start() {
  if (started_) return;
  started_ = true;
  if (options_.ownership == ownership_mode::dynamic) {
    std::vector<worker*> control{discovery_.get()};
    runtime::start(control, *io_, options_.threads, threads_);
    balancer_ = std::thread([this] { balance_loop(); });
    return;
  }
  runtime::start(workers_, *io_, options_.threads, threads_);
}

void eventhubs_source::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (options_.ownership == ownership_mode::dynamic) {
    stop_dynamic();
    return;
  }
  runtime::stop(workers_, *io_, threads_, options_.drain_timeout);
  // Errors its thread saw; then the final write here (the blob store serializes flushes).
  if (async_store_)
    if (auto err = async_store_->flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
  if (auto err = store_->flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
}

source_stats eventhubs_source::stats() const {
  source_stats s;
  auto add = [&s](const worker& w) {
    runtime::add(s, w.receiver.stats(), *w.conn);
    w.handler.partition_snapshot(s.partitions);
    s.lag_query_failures += w.handler.lag_query_failures();
  };
  if (options_.ownership == ownership_mode::dynamic) {
    std::lock_guard l(dyn_mu_);
    s = retired_stats_;
    s.connected = 0;
    s.unsettled = 0;
    if (discovery_) {
      runtime::add(s, discovery_->receiver.stats(), *discovery_->conn);
      s.lag_query_failures += discovery_->handler.lag_query_failures();
    }
    for (const auto& [id, p] : owned_) add(*p->w);
    s.dynamic_ownership = true;
    s.hub_partitions = partitions_;
    constexpr auto relaxed = std::memory_order_relaxed;
    s.ownership_claims = counters_.claims.load(relaxed);
    s.ownership_renewals = counters_.renewals.load(relaxed);
    s.ownership_steals = counters_.steals.load(relaxed);
    s.ownership_releases = counters_.releases.load(relaxed);
    s.ownership_lost = counters_.lost.load(relaxed);
    s.ownership_conflicts = counters_.conflicts.load(relaxed);
    s.ownership_failures = counters_.failures.load(relaxed);
    s.processors = counters_.processors.load(relaxed);
  }
  for (const auto& w : workers_) add(*w);
  // Connections own interleaved partitions: numeric ids in numeric order, others after.
  std::sort(s.partitions.begin(), s.partitions.end(), [](const partition_stats& a, const partition_stats& b) {
    return a.id.size() != b.id.size() ? a.id.size() < b.id.size() : a.id < b.id;
  });
  return s;
}

bool eventhubs_source::ready() const {
  if (options_.ownership != ownership_mode::dynamic) return runtime::all_connected(workers_);
  // Balancing works (storage answers) and the discovery connection is up; a replica may own no
  // partition at all (more replicas than partitions) and still be ready.
  std::lock_guard l(dyn_mu_);
  return discovery_ && discovery_->conn->stats().connected.load(std::memory_order_relaxed) &&
         round_ok_.load(std::memory_order_relaxed);
}

std::vector<std::string> eventhubs_source::owned_partitions() const {
  if (options_.ownership == ownership_mode::dynamic) {
    std::lock_guard l(dyn_mu_);
    std::vector<std::string> out;
    for (const auto& [id, p] : owned_)
      if (p->state == owned_partition::running) out.push_back(id);
    return out;
  }
  // Read after ready(): the handlers' lists are written on their strands before `connected` is set.
  std::vector<std::string> out;
  for (const auto& w : workers_)
    for (const auto& p : w->handler.owned()) out.push_back(p);
  return out;
}

}  // namespace iomt::transport::amqp::eventhubs
