#include "transport/amqp/source.hpp"
#include "transport/amqp/source_runtime.hpp"

#include <boost/asio/strand.hpp>
#include <boost/url/parse.hpp>

#include <stdexcept>

namespace iomt::transport::amqp {

namespace asio = boost::asio;

boost::system::result<broker_url, error> parse_broker_url(std::string_view text) {
  auto u = boost::urls::parse_uri(text);
  if (!u) return error{errc::bad_configuration, "not a URL: " + std::string(text)};
  broker_url out;
  const auto scheme = u->scheme();
  if (scheme == "amqps") {
    out.tls = true;
  } else if (scheme == "amqp") {
    out.tls = false;
  } else {
    return error{errc::bad_configuration, "the URL scheme must be amqps:// or amqp://, got " + std::string(text)};
  }
  out.host = u->host_address();  // brackets removed from IPv6 literals
  if (out.host.empty()) return error{errc::bad_configuration, "the URL has no host: " + std::string(text)};
  out.port = u->has_port() ? std::string(u->port()) : out.tls ? "5671" : "5672";
  if (u->has_userinfo()) {
    out.user = u->user();
    out.password = u->password();
  }
  return out;
}

namespace {

// The queue source's connection: begin, then one receiver link per configured address.
class queue_handler final : public connection_handler {
public:
  queue_handler(consumer& c, const std::vector<std::string>& addresses) : consumer_(c), addresses_(addresses) {}
  consumer& receiver() override { return consumer_; }
  void on_open(engine& e) override {
    consumer_.begin(e);
    for (const auto& a : addresses_) consumer_.open_link({a, {}, -1, {}});
  }
  bool ready() const override { return consumer_.link_count() > 0 && consumer_.all_links_attached(); }

private:
  consumer& consumer_;
  const std::vector<std::string>& addresses_;
};

}  // namespace

struct source::worker {
  worker(const source_options& o, event_sink& sink, const log_hook& log)
      : receiver(o.consumer, sink), handler(receiver, o.addresses) {
    receiver.on_log(log);
  }
  consumer receiver;
  queue_handler handler;
  std::unique_ptr<connection> conn;
};

source::source(source_options options, event_sink& sink, log_hook log)
    : options_(std::move(options)), sink_(sink), log_(std::move(log)) {
  auto url = parse_broker_url(options_.url);
  if (!url) throw std::runtime_error(url.error().message());
  if (options_.addresses.empty()) throw std::runtime_error("no addresses to receive from");
  if (options_.connections == 0) options_.connections = 1;
  if (options_.threads == 0) options_.threads = 1;
  options_.tls.enabled = url->tls;
  const std::string user = !options_.user.empty() ? options_.user : url->user;
  const std::string password = !options_.user.empty() ? options_.password : url->password;
  if (!url->tls && !user.empty() && !options_.allow_cleartext_plain &&
      (options_.mechanisms.empty() || options_.mechanisms.find("PLAIN") != std::string::npos))
    throw std::runtime_error(
        "refusing to send a password over amqp:// without TLS (use amqps://, or allow_cleartext_plain)");
  auto tls = url->tls ? make_tls_context(options_.tls) : nullptr;
  if (!tls) tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);

  io_ = std::make_unique<asio::io_context>(static_cast<int>(options_.threads));
  for (std::uint32_t i = 0; i < options_.connections; ++i) {
    auto w = std::make_unique<worker>(options_, sink_, log_);
    connection_options co;
    co.host = url->host;
    co.port = url->port;
    co.tls = options_.tls;
    co.amqp.container_id = options_.container_id + "-" + std::to_string(i);
    co.amqp.hostname = options_.tls.server_name.empty() ? url->host : options_.tls.server_name;
    co.amqp.user = user;
    co.amqp.password = password;
    co.amqp.mechanisms = options_.mechanisms;
    co.amqp.encrypted = url->tls;
    co.amqp.allow_cleartext_plain = options_.allow_cleartext_plain;
    co.amqp.idle_timeout = options_.idle_timeout;
    co.connect_timeout = options_.connect_timeout;
    co.reconnect_initial = options_.reconnect_initial;
    co.reconnect_max = options_.reconnect_max;
    co.drain_timeout = options_.drain_timeout;
    co.name = "amqp[" + std::to_string(i) + "] " + url->host + ":" + url->port;
    w->conn = std::make_unique<connection>(asio::make_strand(*io_), std::move(co), w->handler, tls, log_);
    workers_.push_back(std::move(w));
  }
}

source::~source() { stop(); }

void source::start() {
  if (started_) return;
  started_ = true;
  runtime::start(workers_, *io_, options_.threads, threads_);
}

void source::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  runtime::stop(workers_, *io_, threads_, options_.drain_timeout);
}

source_stats source::stats() const {
  source_stats s;
  for (const auto& w : workers_) {
    runtime::add(s, w->receiver.stats(), *w->conn);
  }
  return s;
}

bool source::ready() const { return runtime::all_connected(workers_); }

}  // namespace iomt::transport::amqp
