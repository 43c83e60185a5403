#include "net/http_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <deque>
#include <vector>

namespace iomt::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};
  bool connected = false;
  std::string refusal;  // the peer certificate's first problem (net/tls_context.hpp)

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    if (!tls && !plain) return;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    connected = false;
  }
};
using connection_ptr = std::unique_ptr<connection>;

struct waiter {
  asio::steady_timer timer;
  bool handed = false;
  connection_ptr conn;  // null when handed: a free slot, open a new connection
};

// The body is borrowed from the caller (no copy per attempt).
using outgoing_request = http::request<http::span_body<const char>>;

struct exchange_result {
  beast::error_code ec;
  http_step where = http_step::write;
  bool got_some = false;  // response bytes arrived before the error
  bool keep_alive = false;
  response res;
};

// A keep-alive connection the server closed while it sat idle fails like this.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// Resolves with a deadline. The resolver cannot interrupt getaddrinfo: a late answer is still
// waited for, and then reported as a timeout.
struct resolve_guard {
  tcp::resolver resolver;
  bool expired = false;
  explicit resolve_guard(const asio::any_io_executor& ex) : resolver(ex) {}
};

}  // namespace

struct http_pool::impl {
  asio::any_io_executor ex;
  endpoint origin;
  pool_options options;
  std::shared_ptr<ssl::context> ssl_ctx;
  std::vector<connection_ptr> idle;  // back = most recently used
  std::deque<waiter*> waiters;
  std::size_t open = 0;  // connections counted against max_connections (idle + in use + connecting)
  pool_stats stats;

  std::string where() const { return origin.host + ":" + std::to_string(origin.port); }
  steady::time_point now() const { return options.now ? options.now() : steady::now(); }

  asio::awaitable<boost::system::result<connection_ptr, http_error>> acquire() {
    const auto now = this->now();
    while (!idle.empty() && now - idle.front()->idle_since >= options.idle_timeout) {
      idle.front()->close();
      idle.erase(idle.begin());
      --open;
    }
    if (!idle.empty()) {
      connection_ptr c = std::move(idle.back());
      idle.pop_back();
      co_return std::move(c);
    }
    if (open < std::max<std::size_t>(options.max_connections, 1)) {
      ++open;
      co_return std::make_unique<connection>();
    }
    waiter w{asio::steady_timer(ex), false, nullptr};
    w.timer.expires_after(options.request_timeout);
    waiters.push_back(&w);
    co_await w.timer.async_wait(use_tuple);
    if (!w.handed) {
      std::erase(waiters, &w);
      co_return http_error{asio::error::timed_out,
                           "no free connection to " + where() + " within " + millis(options.request_timeout) +
                               " (max_connections " + std::to_string(options.max_connections) + ")",
                           http_step::wait, true};
    }
    if (w.conn) co_return std::move(w.conn);
    co_return std::make_unique<connection>();  // the slot was handed over: open unchanged
  }

  void hand_to_waiter(connection_ptr c) {
    waiter* w = waiters.front();
    waiters.pop_front();
    w->handed = true;
    w->conn = std::move(c);
    w->timer.cancel();
  }

  void release(connection_ptr c, bool reusable) {
    if (!reusable) {
      c->close();
      if (!waiters.empty())
        hand_to_waiter(nullptr);
      else
        --open;
      return;
    }
    c->idle_since = now();
    if (!waiters.empty())
      hand_to_waiter(std::move(c));
    else
      idle.push_back(std::move(c));
  }

  // DNS, TCP connect and TLS handshake, all within connect_timeout. The deadline is for Asio's
  // timers (resolve timer, tcp_stream expiry), which run on the real steady clock: not options.now.
  asio::awaitable<boost::system::result<void, http_error>> connect(connection& c) {
    const auto deadline = steady::now() + options.connect_timeout;
    auto guard = std::make_shared<resolve_guard>(ex);
    asio::steady_timer resolve_timer(ex);
    resolve_timer.expires_at(deadline);
    resolve_timer.async_wait([weak = std::weak_ptr<resolve_guard>(guard)](boost::system::error_code ec) {
      auto g = weak.lock();
      if (ec || !g) return;
      g->expired = true;
      g->resolver.cancel();
    });
    auto [rec, endpoints] = co_await guard->resolver.async_resolve(origin.host, std::to_string(origin.port), use_tuple);
    resolve_timer.cancel();
    if (guard->expired)
      co_return http_error{asio::error::timed_out,
                           "cannot resolve " + origin.host + ": timed out after " + millis(options.connect_timeout),
                           http_step::resolve, true};
    if (rec) co_return http_error{rec, "cannot resolve " + origin.host + ": " + rec.message(), http_step::resolve};
    if (origin.tls)
      c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *ssl_ctx);
    else
      c.plain = std::make_unique<beast::tcp_stream>(ex);
    auto& low = c.lowest();
    low.expires_at(deadline);
    auto [cec, ep] = co_await low.async_connect(endpoints, use_tuple);
    if (cec) {
      const bool timed_out = cec == beast::error::timeout;
      std::string why = timed_out ? "timed out after " + millis(options.connect_timeout) : cec.message();
      co_return http_error{cec, "connect to " + where() + " failed: " + why, http_step::connect, timed_out};
    }
    beast::error_code ignored;
    low.socket().set_option(tcp::no_delay(true), ignored);
    if (origin.tls) {
      prepare_client_stream(*c.tls, origin.host, options.tls.verify, c.refusal);
      low.expires_at(deadline);
      auto [hec] = co_await c.tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (hec) {
        const bool timed_out = hec == beast::error::timeout;
        std::string why = timed_out ? "timed out after " + millis(options.connect_timeout) : hec.message();
        if (!c.refusal.empty()) why += ": " + c.refusal;
        http_error e{hec, "TLS handshake with " + where() + " failed: " + why, http_step::tls_handshake, timed_out};
        if (is_certificate_refusal(hec, c.refusal))
          e.certificate_refusal = c.refusal.empty() ? hec.message() : c.refusal;
        co_return e;
      }
    }
    low.expires_never();
    c.connected = true;
    ++stats.connections_opened;
    co_return boost::system::result<void, http_error>{};
  }

  template <class Stream>
  asio::awaitable<exchange_result> exchange(Stream& stream, connection& c, const outgoing_request& req) {
    exchange_result x;
    c.lowest().expires_after(options.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec) {
      x.ec = wec;
      co_return x;
    }
    x.where = http_step::read;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    parser.header_limit(64 * 1024);
    if (req.method() == http::verb::head) parser.skip(true);  // headers only (RFC 9110 §9.3.2)
    auto [rec, rn] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
    x.got_some = parser.got_some();
    if (rec) {
      x.ec = rec;
      co_return x;
    }
    c.lowest().expires_never();
    x.keep_alive = parser.get().keep_alive();
    x.res = parser.release();
    co_return x;
  }

  http_error describe(const exchange_result& x) const {
    const bool timed_out = x.ec == beast::error::timeout;
    std::string why = timed_out ? "no response within " + millis(options.request_timeout) : x.ec.message();
    return {x.ec,
            (x.where == http_step::write ? "sending the request to " : "reading the response from ") + where() +
                " failed: " + why,
            x.where, timed_out};
  }
};

http_pool::http_pool(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_pool::~http_pool() { close_idle(); }

boost::system::result<std::unique_ptr<http_pool>, http_error> http_pool::create(asio::any_io_executor ex,
                                                                                endpoint origin, pool_options options) {
  auto p = std::make_unique<impl>();
  p->ex = std::move(ex);
  p->origin = std::move(origin);
  p->options = std::move(options);
  if (p->origin.tls) {
    auto ctx = make_client_context(p->options.tls);
    if (!ctx) return http_error{ctx.error().ec, describe(ctx.error(), p->options.tls), http_step::tls_setup};
    p->ssl_ctx = std::move(*ctx);
  }
  return std::unique_ptr<http_pool>(new http_pool(std::move(p)));
}

asio::awaitable<http_result> http_pool::request(http::verb method, std::string target, std::string_view body,
                                                std::span<const header_field> headers) {
  impl& s = *impl_;
  outgoing_request req{method, target, 11};
  req.set(http::field::host, s.origin.host_header);
  req.set(http::field::user_agent, s.options.user_agent);
  for (const auto& h : headers) req.set(h.name, h.value);
  req.keep_alive(true);
  req.body() = beast::span<const char>(body.data(), body.size());
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    auto acquired = co_await s.acquire();
    if (!acquired) co_return acquired.error();
    connection_ptr conn = std::move(*acquired);
    const bool reused = conn->connected;
    if (!conn->connected) {
      auto connected = co_await s.connect(*conn);
      if (!connected) {
        s.release(std::move(conn), false);
        co_return connected.error();
      }
    }
    ++s.stats.requests;
    // (no co_await inside ?: - GCC 12 destroys the temporaries of such expressions twice)
    exchange_result x;
    if (conn->tls)
      x = co_await s.exchange(*conn->tls, *conn, req);
    else
      x = co_await s.exchange(*conn->plain, *conn, req);
    if (!x.ec) {
      s.release(std::move(conn), x.keep_alive);
      co_return std::move(x.res);
    }
    s.release(std::move(conn), false);
    // The server closed an idle keep-alive connection: the request never reached it, resend
    // once on a fresh connection.
    const bool stale = reused && attempt == 0 && (x.where == http_step::write || (!x.got_some && closed_by_peer(x.ec)));
    if (stale) {
      ++s.stats.stale_retries;
      continue;
    }
    co_return s.describe(x);
  }
}

const endpoint& http_pool::origin() const noexcept { return impl_->origin; }
const pool_options& http_pool::options() const noexcept { return impl_->options; }
const pool_stats& http_pool::stats() const noexcept { return impl_->stats; }
std::size_t http_pool::open_connections() const noexcept { return impl_->open; }
std::size_t http_pool::idle_connections() const noexcept { return impl_->idle.size(); }

void http_pool::close_idle() {
  for (auto& c : impl_->idle) c->close();
  impl_->open -= impl_->idle.size();
  impl_->idle.clear();
}

}  // namespace iomt::net
