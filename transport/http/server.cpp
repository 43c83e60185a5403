#include "transport/http/server.hpp"

#include "transport/http/request_id.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace iomt::transport::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct route_entry {
  bhttp::verb method;
  std::string prefix;
  server::handler handler;
};

// "/metrics" matches "/metrics", "/metrics/", "/metrics/x"; not "/metricsx".
bool prefix_matches(std::string_view prefix, std::string_view path) noexcept {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::int64_t steady_ticks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// What the server knows of every connection, whatever its stream type.
class session_base {
public:
  // A new connection waits for its request head from the start (a TLS handshake included).
  explicit session_base(std::uint64_t id) : head_since(steady_ticks()), id_(id) {}
  virtual ~session_base() = default;
  std::uint64_t id() const noexcept { return id_; }
  virtual void notify_shutdown() = 0;
  virtual void force_close() = 0;

  // steady_clock ticks since the connection began waiting for a request head (0: not waiting);
  // the connection-limit eviction picks the smallest.
  std::atomic<std::int64_t> head_since;
  std::atomic<bool> evicted{false};

private:
  std::uint64_t id_;
};

constexpr std::string_view too_many_connections =
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain; "
    "charset=utf-8\r\nContent-Length: 51\r\n\r\ntoo many connections to this server: retry shortly\n";

// Answers a connection the server will not serve, without waiting: the answer is small enough
// for the socket's send buffer.
void refuse_now(int fd) {
  [[maybe_unused]] auto sent =
      ::send(fd, too_many_connections.data(), too_many_connections.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
}

}  // namespace

struct server::state : std::enable_shared_from_this<server::state> {
  state(asio::io_context& context, server_options o, eventhub_ingest& i, event_sink& s)
      : ioc(context),
        options(std::move(o)),
        ingest(i),
        sink(s),
        acceptor(asio::make_strand(context)),
        grace_timer(acceptor.get_executor()) {}
  ~state() {
    if (spare_fd >= 0) ::close(spare_fd);
  }

  std::chrono::system_clock::time_point now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }

  // The handler route for (method, path); when only other methods match, `allow` lists them.
  const route_entry* find_route(bhttp::verb method, std::string_view path, std::string& allow) const {
    const route_entry* best = nullptr;
    for (const auto& r : routes) {
      if (!prefix_matches(r.prefix, path)) continue;
      if (r.method == method) {
        if (!best || r.prefix.size() > best->prefix.size()) best = &r;
      } else {
        const std::string_view m = bhttp::to_string(r.method);
        if (allow.find(m) == std::string::npos) allow += (allow.empty() ? "" : ", ") + std::string(m);
      }
    }
    return best;
  }

  void start_session(tcp::socket socket);
  // Is there room for one more connection? At the limit, closes the connection waiting longest
  // for a request head to make room (see server.hpp).
  bool admit();
  void log(int level, const std::string& message, const std::string& detail) const {
    if (!options.on_log) return;
    try {
      options.on_log(level, message, detail);
    } catch (...) {
    }
  }
  void remove_session(std::uint64_t id) {
    {
      std::lock_guard lock(mutex);
      sessions.erase(id);
    }
    maybe_finish();
  }
  void maybe_finish();

  asio::io_context& ioc;
  server_options options;
  eventhub_ingest& ingest;
  event_sink& sink;
  std::vector<route_entry> routes;  // immutable after start()
  tcp::acceptor acceptor;           // on its own strand, with grace_timer
  asio::steady_timer grace_timer;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;  // guards the members below
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions;
  std::size_t limit = 1024;  // effective connection cap (listen())
  int spare_fd = -1;         // released to accept (and close) one client when out of descriptors
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> evicted{0};
  std::uint64_t next_id = 0;
  bool accepting = false;
  bool shutdown_requested = false;
  bool finished = false;
  std::function<void()> on_stopped;
};

namespace {

// The pipeline's answer to one submission, delivered onto the connection's strand.
struct ack_state {
  explicit ack_state(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;  // cancelled by the answer; expires at ack_timeout
  bool done = false;
  outcome result;
};

using request_parser = bhttp::request_parser<bhttp::string_body>;

// One connection: a coroutine on its own strand, reading requests one after the other. Stream is
// beast::tcp_stream (plain HTTP) or beast::ssl_stream<beast::tcp_stream> (TLS).
template <class Stream>
class session : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  // `keep`: what the stream refers to and must outlive it (the TLS context).
  session(std::shared_ptr<server::state> st, Stream stream, std::uint64_t id, std::string peer,
          std::shared_ptr<void> keep = {})
      : session_base(id),
        st_(std::move(st)),
        keep_(std::move(keep)),
        stream_(std::move(stream)),
        peer_(std::move(peer)) {}

  asio::any_io_executor executor() { return stream_.get_executor(); }

  asio::awaitable<void> run();

  // Thread-safe. Closes the connection if it is waiting for a request; otherwise the request in
  // flight finishes and its answer closes the connection.
  void notify_shutdown() override {
    asio::post(executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->tcp().cancel();
    });
  }

  // Thread-safe. Closes the connection now, whatever it is doing.
  void force_close() override {
    asio::post(executor(), [self = this->shared_from_this()] {
      self->forced_ = true;
      self->tcp().close();
      if (self->ack_) self->ack_->timer.cancel();
    });
  }

private:
  enum class next_step { keep_alive, close };

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
  asio::awaitable<bool> handshake();
  asio::awaitable<boost::system::error_code> read_head(request_parser& parser, bool first);
  asio::awaitable<next_step> handle(request_parser& parser);
  asio::awaitable<bool> read_body(request_parser& parser, std::size_t limit);
  asio::awaitable<next_step> submit(std::vector<event>&& events, unsigned version, bool keep_alive);
  asio::awaitable<next_step> answer(response& res, bool keep_alive);
  asio::awaitable<next_step> answer_error(const http_error& e, unsigned version, bool keep_alive,
                                          std::string_view allow = {});
  asio::awaitable<next_step> answer_early(request_parser& parser, const http_error& e, std::string_view allow = {},
                                          bool close_after = false);
  asio::awaitable<void> linger();
  void begin_request(std::string_view client_request_id);
  void report(unsigned status);
  void close();

  std::shared_ptr<server::state> st_;
  std::shared_ptr<void> keep_;  // declared before stream_: destroyed after it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string peer_;
  auth_cache auth_cache_;
  std::shared_ptr<ack_state> ack_;  // while waiting for the pipeline
  bool idle_ = false;               // waiting for a request (no byte of it received yet)
  bool forced_ = false;

  // The request being answered (for request_record).
  bhttp::verb method_ = bhttp::verb::unknown;
  std::string path_;
  std::size_t events_ = 0;
  std::size_t failed_ = 0;
  std::string error_;
  std::string detail_;
  std::chrono::steady_clock::time_point started_;
  // Its id (request_id.hpp), answered as x-ms-request-id and shared by the request's events; the
  // client's x-ms-client-request-id when usable (echoed), else "".
  std::shared_ptr<const std::string> request_id_;
  std::string client_request_id_;
};

template <class Stream>
void session<Stream>::begin_request(std::string_view client_request_id) {
  started_ = std::chrono::steady_clock::now();
  if (auto usable = usable_client_request_id(client_request_id)) {
    client_request_id_.assign(*usable);
    request_id_ = std::make_shared<const std::string>(client_request_id_);
  } else {
    client_request_id_.clear();
    request_id_ = std::make_shared<const std::string>(new_request_id());
  }
}

template <class Stream>
asio::awaitable<bool> session<Stream>::handshake() {
  if constexpr (is_tls) {
    tcp().expires_after(st_->options.first_byte_timeout);
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) {
      // Plain HTTP sent to the TLS port, a client certificate missing or refused, a protocol or
      // cipher the client cannot speak, or a client that never finished.
      if (ec != beast::error::timeout && ec != asio::error::eof && ec != asio::error::connection_reset)
        st_->log(1, "TLS handshake failed", "peer " + peer_ + ": " + ec.message());
      co_return false;
    }
  }
  co_return true;
}

// Waits for the first byte of a request (first_byte_timeout on a new connection, idle_timeout on
// a kept-alive one), then reads the rest of its head within header_timeout.
template <class Stream>
asio::awaitable<boost::system::error_code> session<Stream>::read_head(request_parser& parser, bool first) {
  const auto& opts = st_->options;
  head_since = steady_ticks();
  if (buffer_.size() == 0) {
    idle_ = true;
    tcp().expires_after(first ? opts.first_byte_timeout : opts.idle_timeout);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
    idle_ = false;
    if (ec) {
      head_since = 0;
      co_return ec;
    }
    buffer_.commit(n);
  }
  tcp().expires_after(opts.header_timeout);
  auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
  head_since = 0;
  co_return ec;
}

template <class Stream>
asio::awaitable<void> session<Stream>::run() {
  const auto& opts = st_->options;
  bool first = true;
  if (co_await handshake()) {
    for (;;) {
      if (st_->stopping || forced_) break;
      request_parser parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      parser.body_limit(boost::none);  // set per route once the head is known
      const auto ec = co_await read_head(parser, first);
      first = false;
      if (ec) {
        // Peer closed, a timeout, shutdown of an idle connection, a TLS or socket error: just
        // close. Only a head that does not parse is answered.
        const boost::system::error_code http_parse_error = bhttp::error::end_of_stream;
        if (ec.category() != http_parse_error.category() ||  // not an HTTP parse error
            ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || forced_)
          break;
        method_ = bhttp::verb::unknown;
        path_.clear();
        begin_request({});
        const http_error e =
            ec == bhttp::error::header_limit
                ? http_error{bhttp::status::request_header_fields_too_large,
                             "request head is over " + std::to_string(opts.max_header_bytes) + " bytes"}
                : http_error{bhttp::status::bad_request, "malformed HTTP request: " + ec.message()};
        co_await answer_error(e, 11, false);
        co_await linger();
        break;
      }
      begin_request(parser.get()["x-ms-client-request-id"]);
      if (co_await handle(parser) != next_step::keep_alive) break;
    }
  }
  close();
}

template <class Stream>
asio::awaitable<typename session<Stream>::next_step> session<Stream>::handle(request_parser& parser) {
  const auto& opts = st_->options;
  auto& req = parser.get();
  const unsigned version = req.version();
  const std::string_view target = req.target();
  method_ = req.method();
  path_ = std::string(target.substr(0, target.find('?')));
  events_ = failed_ = 0;
  error_.clear();
  detail_.clear();

  std::string allow;
  const route_entry* route = st_->find_route(req.method(), path_, allow);
  // A send route is never shadowed by a handler prefix registered for another method (e.g. a GET
  // catch-all "/" serving a page).
  if (!route && !allow.empty() && parse_eventhub_route(target)) allow.clear();
  if (route || !allow.empty()) {
    // (GCC 12 coroutines: no temporaries with destructors inside co_await expressions; they can be
    // destroyed twice. Arguments are named locals throughout this file.)
    if (!route) {
      const http_error e{bhttp::status::method_not_allowed, std::string(req.method_string()) + " is not allowed on '" +
                                                                path_ + "' (allowed: " + allow + ")"};
      const std::string_view allowed = allow;
      co_return co_await answer_early(parser, e, allowed);
    }
    if (auto length = parser.content_length(); length && *length > opts.max_route_body_bytes) {
      const http_error e{bhttp::status::payload_too_large, "request body of " + std::to_string(*length) +
                                                               " bytes is over the limit of " +
                                                               std::to_string(opts.max_route_body_bytes) + " bytes"};
      co_return co_await answer_early(parser, e);
    }
    if (!co_await read_body(parser, opts.max_route_body_bytes)) co_return next_step::close;
    const bool keep_alive = parser.get().keep_alive();
    response res;
    try {
      res = route->handler(parser.get());
    } catch (const std::exception& e) {
      res = make_error_response({bhttp::status::internal_server_error, std::string("handler failed: ") + e.what()},
                                version, keep_alive);
    }
    res.version(version);
    co_return co_await answer(res, keep_alive);
  }

  auto plan = st_->ingest.check_header(req, unix_seconds(st_->now()), &auth_cache_);
  if (!plan) {
    const std::string_view allowed = plan.error().status == bhttp::status::method_not_allowed ? "POST" : "";
    // A failed authentication does not keep its connection: each guess costs a new one.
    const auto status = plan.error().status;
    const bool close_after = status == bhttp::status::unauthorized || status == bhttp::status::forbidden;
    co_return co_await answer_early(parser, plan.error(), allowed, close_after);
  }
  if (!co_await read_body(parser, st_->ingest.options().max_body_bytes)) co_return next_step::close;
  const bool keep_alive = parser.get().keep_alive();
  auto events = st_->ingest.to_events(*plan, parser.release(), st_->now(), request_id_);
  if (!events) co_return co_await answer_error(events.error(), version, keep_alive);
  co_return co_await submit(std::move(*events), version, keep_alive);
}

// Reads the rest of the request. On failure the connection is done (answered when possible).
template <class Stream>
asio::awaitable<bool> session<Stream>::read_body(request_parser& parser, std::size_t limit) {
  const auto& opts = st_->options;
  if (parser.is_done()) co_return true;
  parser.body_limit(limit);
  auto& req = parser.get();
  if (iequals(req[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, req.version()};
    tcp().expires_after(opts.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, go_on, use_tuple);
    if (ec) {
      report(0);
      co_return false;
    }
  }
  tcp().expires_after(opts.read_timeout);
  auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
  if (!ec) co_return true;
  if (ec == bhttp::error::body_limit) {
    const http_error e{bhttp::status::payload_too_large,
                       "request body is over the limit of " + std::to_string(limit) + " bytes"};
    co_await answer_error(e, req.version(), false);
    co_await linger();
  } else {
    // The client went away, or stopped sending for read_timeout (tcp_stream has then closed the
    // socket already, so there is no one to answer).
    report(0);
  }
  co_return false;
}

template <class Stream>
asio::awaitable<typename session<Stream>::next_step> session<Stream>::submit(std::vector<event>&& events,
                                                                             unsigned version, bool keep_alive) {
  const auto& opts = st_->options;
  events_ = events.size();
  auto ack = std::make_shared<ack_state>(executor());
  if (opts.ack_timeout.count() > 0) {
    ack->timer.expires_after(opts.ack_timeout);
  } else {
    ack->timer.expires_at(std::chrono::steady_clock::time_point::max());
  }
  // `done` may run on any thread: hop onto this connection's strand. The tracked executor keeps
  // the io_context running until the pipeline has answered.
  auto tracked = asio::prefer(executor(), asio::execution::outstanding_work.tracked);
  submit_status status = submit_status::shutting_down;
  std::string failure;
  try {
    status = st_->sink.submit(std::move(events), [ack, tracked](const outcome& o) {
      asio::post(tracked, [ack, o] {
        ack->done = true;
        ack->result = o;
        ack->timer.cancel();
      });
    });
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    const http_error e{bhttp::status::internal_server_error, "the pipeline refused the events: " + failure};
    co_return co_await answer_error(e, version, keep_alive);
  }
  if (status != submit_status::accepted) {
    const bool busy = status == submit_status::busy;
    // Say which bound pushed back (buffer full, queues full, FHIR server failing; issue 12).
    const http_error e{bhttp::status::service_unavailable, busy ? "busy: " + st_->sink.busy_reason() + ": retry later"
                                                                : "the service is shutting down: retry later"};
    response res = make_error_response(e, version, keep_alive);
    res.set(bhttp::field::retry_after, "1");
    error_ = busy ? "busy" : "shutting down";
    co_return co_await answer(res, keep_alive);
  }

  ack_ = ack;
  tcp().expires_never();
  co_await ack->timer.async_wait(use_tuple);
  ack_.reset();
  if (forced_) {
    report(0);
    co_return next_step::close;
  }
  if (!ack->done) {
    const http_error e{bhttp::status::gateway_timeout,
                       "the pipeline did not confirm the " + std::to_string(events_) + " event(s) within " +
                           std::to_string(opts.ack_timeout.count()) + " ms; they may still be written"};
    co_return co_await answer_error(e, version, keep_alive);
  }
  if (ack->result.refused) {
    // The durable buffer could not keep the events: never 201 (iomt issue 4).
    const http_error e{bhttp::status::service_unavailable,
                       "the events could not be stored: " + ack->result.error + ": retry later"};
    response res = make_error_response(e, version, keep_alive);
    res.set(bhttp::field::retry_after, "1");
    error_ = "not stored";
    co_return co_await answer(res, keep_alive);
  }
  failed_ = ack->result.failed;
  response res{bhttp::status::created, version};
  co_return co_await answer(res, keep_alive);
}

template <class Stream>
asio::awaitable<typename session<Stream>::next_step> session<Stream>::answer(response& res, bool keep_alive) {
  const auto& opts = st_->options;
  if (st_->stopping || forced_) keep_alive = false;
  res.keep_alive(keep_alive);
  res.set(bhttp::field::server, opts.server_name);
  // As Azure services answer (request_id.hpp).
  if (request_id_) res.set("x-ms-request-id", *request_id_);
  if (!client_request_id_.empty()) res.set("x-ms-client-request-id", client_request_id_);
  res.prepare_payload();
  tcp().expires_after(opts.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
  report(ec ? 0 : res.result_int());
  if (ec) co_return next_step::close;
  co_return keep_alive ? next_step::keep_alive : next_step::close;
}

template <class Stream>
asio::awaitable<typename session<Stream>::next_step> session<Stream>::answer_error(const http_error& e,
                                                                                   unsigned version, bool keep_alive,
                                                                                   std::string_view allow) {
  error_ = e.message;
  detail_ = e.detail;
  response res = make_error_response(e, version, keep_alive);
  if (!allow.empty()) res.set(bhttp::field::allow, allow);
  co_return co_await answer(res, keep_alive);
}

// An error decided from the head alone. A small announced body (no 100-continue) is read and
// dropped so the connection can stay open; otherwise answer, then drain briefly and close.
template <class Stream>
asio::awaitable<typename session<Stream>::next_step> session<Stream>::answer_early(request_parser& parser,
                                                                                   const http_error& e,
                                                                                   std::string_view allow,
                                                                                   bool close_after) {
  constexpr std::uint64_t small_body = 64 * 1024;
  auto& req = parser.get();
  const auto length = parser.content_length();
  if (!parser.is_done() && length && *length <= small_body && !iequals(req[bhttp::field::expect], "100-continue")) {
    parser.body_limit(small_body);
    tcp().expires_after(st_->options.read_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
    if (ec) {
      report(0);
      co_return next_step::close;
    }
  }
  const bool body_pending = !parser.is_done();
  const bool keep_alive = !body_pending && !close_after && req.keep_alive();
  auto next = co_await answer_error(e, parser.get().version(), keep_alive, allow);
  if (body_pending) {
    co_await linger();
    co_return next_step::close;
  }
  co_return next;
}

// Half-close, then read and discard what the client still sends for a short while, so that it
// reads our answer rather than a connection reset (the "lingering close" of HTTP servers).
template <class Stream>
asio::awaitable<void> session<Stream>::linger() {
  beast::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec || forced_) co_return;
  tcp().expires_after(st_->options.linger_timeout);
  std::array<char, 16 * 1024> sink;
  for (std::size_t total = 0; total < 64u * 1024 * 1024;) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(sink), use_tuple);
    if (rec) break;
    total += n;
  }
}

template <class Stream>
void session<Stream>::report(unsigned status) {
  const auto& on_request = st_->options.on_request;
  if (!on_request) return;
  request_record r;
  r.method = method_;
  r.path = path_;
  r.status = status;
  r.events = events_;
  r.failed = failed_;
  r.duration = std::chrono::steady_clock::now() - started_;
  r.error = error_;
  r.detail = detail_;
  r.peer = peer_;
  if (request_id_) r.request_id = *request_id_;
  try {
    on_request(r);
  } catch (...) {
    // an observer must not take a connection down
  }
}

template <class Stream>
void session<Stream>::close() {
  beast::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  tcp().close();
}

}  // namespace

void server::state::start_session(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string peer = "unknown";
  if (auto ep = socket.remote_endpoint(ec); !ec) {
    const auto address = ep.address();
    peer = (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" + std::to_string(ep.port());
  }
  auto spawn = [this](auto s) {
    {
      std::lock_guard lock(mutex);
      sessions.emplace(s->id(), s);
    }
    asio::co_spawn(s->executor(), s->run(),
                   [s, self = shared_from_this()](std::exception_ptr) { self->remove_session(s->id()); });
  };
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex);
    id = next_id++;
  }
  if (options.tls) {
    using tls_stream = beast::ssl_stream<beast::tcp_stream>;
    // Each connection keeps the context it was accepted with; current() may load a renewed one.
    auto context = options.tls->current();
    tls_stream stream(std::move(socket), *context);
    auto s = std::make_shared<session<tls_stream>>(shared_from_this(), std::move(stream), id, std::move(peer), context);
    spawn(std::move(s));
  } else {
    spawn(std::make_shared<session<beast::tcp_stream>>(shared_from_this(), beast::tcp_stream(std::move(socket)), id,
                                                       std::move(peer)));
  }
}

bool server::state::admit() {
  std::shared_ptr<session_base> victim;
  {
    std::lock_guard lock(mutex);
    if (sessions.size() < limit) return true;
    std::int64_t oldest = 0;
    for (auto& [id, weak] : sessions) {
      auto s = weak.lock();
      if (!s || s->evicted) continue;
      const std::int64_t since = s->head_since.load();
      if (since != 0 && (!victim || since < oldest)) {
        victim = std::move(s);
        oldest = since;
      }
    }
    if (victim) victim->evicted = true;
  }
  if (!victim) {
    ++refused;
    log(1, "connection refused: the connection limit is reached and every connection is serving a request",
        std::to_string(limit) + " connections (source.http.max_connections, or the file-descriptor limit)");
    return false;
  }
  ++evicted;
  log(1, "connection limit reached: closed the connection waiting longest for a request head",
      std::to_string(limit) + " connections (source.http.max_connections, or the file-descriptor limit)");
  victim->force_close();
  return true;
}

void server::state::maybe_finish() {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex);
    if (!shutdown_requested || finished || accepting || !sessions.empty()) return;
    finished = true;
    callback = std::move(on_stopped);
  }
  asio::post(acceptor.get_executor(), [self = shared_from_this(), callback = std::move(callback)] {
    self->grace_timer.cancel();
    if (callback) callback();
  });
}

namespace {

// Out of file descriptors: accept the waiting client on the spare descriptor, answer and close
// it, so it is neither left hanging in the backlog nor retried in a tight loop.
void shed_one(server::state& st) {
  if (st.spare_fd >= 0) {
    ::close(st.spare_fd);
    st.spare_fd = -1;
  }
  const int fd = ::accept4(st.acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    refuse_now(fd);
    ::close(fd);
    ++st.refused;
  }
  st.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> st) {
  for (;;) {
    const asio::any_io_executor connection_strand = st->options.io_threads == 1
                                                        ? asio::any_io_executor(st->ioc.get_executor())
                                                        : asio::any_io_executor(asio::make_strand(st->ioc));
    auto [ec, socket] = co_await st->acceptor.async_accept(connection_strand, use_tuple);
    if (st->stopping || ec == asio::error::operation_aborted || !st->acceptor.is_open()) break;
    if (ec) {
      const bool out_of_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
      st->log(2,
              out_of_fds ? "accept failed: the process is out of file descriptors (raise its limit, or lower "
                           "source.http.max_connections)"
                         : "accept failed",
              ec.message());
      if (out_of_fds) shed_one(*st);
      // Back off a little instead of spinning.
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer pause(executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (!st->admit()) {
      refuse_now(socket.native_handle());
      beast::error_code ignored;
      socket.close(ignored);
      if (st->options.on_request) {
        request_record r;
        r.status = 503;
        r.error = "too many connections";
        try {
          st->options.on_request(r);
        } catch (...) {
        }
      }
      continue;
    }
    st->start_session(std::move(socket));
  }
}

}  // namespace

server::server(asio::io_context& ioc, server_options options, eventhub_ingest& ingest, event_sink& sink)
    : state_(std::make_shared<state>(ioc, std::move(options), ingest, sink)) {}

server::~server() = default;

void server::add_route(bhttp::verb method, std::string path_prefix, handler h) {
  state_->routes.push_back({method, std::move(path_prefix), std::move(h)});
}

boost::system::error_code server::listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(state_->options.address, ec);
  if (ec) return ec;
  const tcp::endpoint endpoint{address, state_->options.port};
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    return ec;
  }
  // The connection cap: what is configured, but never more than the file descriptors left after
  // reserved_fds for the rest of the process (FHIR connections, buffer files, the AMQP source).
  std::size_t limit = std::max<std::size_t>(1, state_->options.max_connections);
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const auto fds = static_cast<std::size_t>(rl.rlim_cur);
    const std::size_t room = fds > state_->options.reserved_fds + 16 ? fds - state_->options.reserved_fds : 16;
    limit = std::min(limit, room);
  }
  state_->limit = limit;
  if (state_->spare_fd < 0) state_->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return ec;
}

tcp::endpoint server::local_endpoint() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void server::start() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->accepting || state_->shutdown_requested) return;
    state_->accepting = true;
  }
  asio::co_spawn(state_->acceptor.get_executor(), accept_loop(state_), [st = state_](std::exception_ptr) {
    {
      std::lock_guard lock(st->mutex);
      st->accepting = false;
    }
    st->maybe_finish();
  });
}

void server::shutdown(std::chrono::milliseconds grace, std::function<void()> on_stopped) {
  auto st = state_;
  st->stopping = true;  // before the snapshot: a connection accepted later sees it and closes
  std::vector<std::shared_ptr<session_base>> live;
  {
    std::lock_guard lock(st->mutex);
    if (st->shutdown_requested) return;
    st->shutdown_requested = true;
    st->on_stopped = std::move(on_stopped);
    for (auto& [id, weak] : st->sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  asio::post(st->acceptor.get_executor(), [st, grace] {
    boost::system::error_code ec;
    st->acceptor.close(ec);  // the accept loop ends with operation_aborted
    {
      std::lock_guard lock(st->mutex);
      if (st->finished) return;
    }
    st->grace_timer.expires_after(grace);
    st->grace_timer.async_wait([st](boost::system::error_code wait_ec) {
      if (wait_ec) return;  // everything closed in time
      std::vector<std::shared_ptr<session_base>> remaining;
      {
        std::lock_guard lock(st->mutex);
        for (auto& [id, weak] : st->sessions)
          if (auto s = weak.lock()) remaining.push_back(std::move(s));
      }
      for (auto& s : remaining) s->force_close();
    });
  });
  for (auto& s : live) s->notify_shutdown();
  st->maybe_finish();
}

std::size_t server::connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->sessions.size();
}

std::size_t server::connections_waiting_for_a_request() const {
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& [id, weak] : state_->sessions)
    if (auto s = weak.lock(); s && s->head_since.load() != 0) ++n;
  return n;
}

std::size_t server::connection_limit() const {
  std::lock_guard lock(state_->mutex);
  return state_->limit;
}

std::uint64_t server::refused_connections() const { return state_->refused.load(); }
std::uint64_t server::evicted_connections() const { return state_->evicted.load(); }

}  // namespace iomt::transport::http
