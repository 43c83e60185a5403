#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/source_runtime.hpp"

#include <boost/asio/strand.hpp>

#include <algorithm>
#include <stdexcept>

namespace iomt::transport::amqp::eventhubs {

namespace asio = boost::asio;

struct eventhubs_source::worker {
  worker(const consumer_options& co, event_sink& sink, handler_options ho, checkpoint_store& store, const log_hook& log)
      : receiver(co, sink), handler(std::move(ho), receiver, store, log) {
    receiver.on_log(log);
  }
  consumer receiver;
  eventhubs_handler handler;
  std::unique_ptr<connection> conn;
};

eventhubs_source::eventhubs_source(eventhubs_source_options options, event_sink& sink, log_hook log)
    : options_(std::move(options)), sink_(sink), log_(std::move(log)) {
  auto cs = parse_connection_string(options_.connection_string);
  if (!cs) throw std::runtime_error(cs.error().message());
  const std::string hub = !options_.eventhub.empty() ? options_.eventhub : cs->entity_path;
  if (hub.empty())
    throw std::runtime_error("Event Hubs: no event hub (EntityPath in the connection string, or eventhub)");
  if (options_.connections == 0) options_.connections = 1;
  if (options_.threads == 0) options_.threads = 1;
  if (options_.replica_count == 0) options_.replica_count = 1;
  if (options_.replica_index >= options_.replica_count)
    throw std::runtime_error("Event Hubs: replica_index " + std::to_string(options_.replica_index) +
                             " is not below replica_count " + std::to_string(options_.replica_count));
  checkpoint_options cpo;
  cpo.kind = options_.checkpoint_store_kind;
  cpo.file_dir = options_.checkpoint_dir;
  cpo.blob = options_.checkpoint_blob;
  auto [store, err] = open_checkpoint_store(cpo, cs->host, hub, options_.consumer_group);
  if (err) throw std::runtime_error(err.message());
  store_ = std::move(store);
  // The file store's flush is a local write (as before); the blob store's is network I/O, which
  // must not stall the AMQP threads that call flush() on their timers.
  if (options_.checkpoint_store_kind == checkpoint_kind::blob)
    async_store_ = std::make_unique<background_flush_store>(*store_);
  checkpoint_store& handler_store = async_store_ ? static_cast<checkpoint_store&>(*async_store_) : *store_;

  tls_options tls = options_.tls;
  tls.enabled = cs->tls;
  auto ctx = cs->tls ? make_tls_context(tls) : std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  io_ = std::make_unique<asio::io_context>(static_cast<int>(options_.threads));
  for (std::uint32_t i = 0; i < options_.connections; ++i) {
    handler_options ho;
    ho.account = *cs;
    ho.eventhub = hub;
    ho.consumer_group = options_.consumer_group;
    ho.owner = {options_.partitions, options_.replica_index, options_.replica_count, i, options_.connections};
    ho.start_position = options_.start_position;
    ho.epoch = options_.epoch;
    ho.token_lifetime = options_.token_lifetime;
    ho.checkpoint_interval = options_.checkpoint_interval;
    ho.lag_interval = options_.lag_interval;
    auto w = std::make_unique<worker>(options_.consumer, sink_, std::move(ho), handler_store, log_);
    connection_options co;
    co.host = cs->host;
    co.port = cs->port;
    co.tls = tls;
    co.amqp.container_id = options_.container_id + "-eh-" + std::to_string(i);
    co.amqp.hostname = cs->host;
    co.amqp.mechanisms = options_.sasl_mechanisms;
    if (options_.sasl_mechanisms.find("PLAIN") != std::string::npos) {  // SAS key name / key as SASL PLAIN
      co.amqp.user = cs->key_name;
      co.amqp.password = cs->key;
    }
    co.amqp.encrypted = cs->tls;
    co.amqp.idle_timeout = options_.idle_timeout;
    co.connect_timeout = options_.connect_timeout;
    co.reconnect_initial = options_.reconnect_initial;
    co.reconnect_max = options_.reconnect_max;
    co.drain_timeout = options_.drain_timeout;
    co.name = "eventhubs[" + std::to_string(i) + "] " + cs->host + "/" + hub;
    w->conn = std::make_unique<connection>(asio::make_strand(*io_), std::move(co), w->handler, ctx, log_);
    workers_.push_back(std::move(w));
  }
}

eventhubs_source::~eventhubs_source() { stop(); }

void eventhubs_source::start() {
  if (started_) return;
  started_ = true;
  runtime::start(workers_, *io_, options_.threads, threads_);
}

void eventhubs_source::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  runtime::stop(workers_, *io_, threads_, options_.drain_timeout);
  // Errors its thread saw; then the final write here (the blob store serializes flushes).
  if (async_store_)
    if (auto err = async_store_->flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
  if (auto err = store_->flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
}

source_stats eventhubs_source::stats() const {
  source_stats s;
  for (const auto& w : workers_) {
    runtime::add(s, w->receiver.stats(), *w->conn);
    w->handler.partition_snapshot(s.partitions);
    s.lag_query_failures += w->handler.lag_query_failures();
  }
  // Connections own interleaved partitions: numeric ids in numeric order, others after.
  std::sort(s.partitions.begin(), s.partitions.end(), [](const partition_stats& a, const partition_stats& b) {
    return a.id.size() != b.id.size() ? a.id.size() < b.id.size() : a.id < b.id;
  });
  return s;
}

bool eventhubs_source::ready() const { return runtime::all_connected(workers_); }

std::vector<std::string> eventhubs_source::owned_partitions() const {
  // Read after ready(): the handlers' lists are written on their strands before `connected` is set.
  std::vector<std::string> out;
  for (const auto& w : workers_)
    for (const auto& p : w->handler.owned()) out.push_back(p);
  return out;
}

}  // namespace iomt::transport::amqp::eventhubs
