#include "fhir/http_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

namespace iomt::fhir {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---- endpoint -----------------------------------------------------------------------------

boost::system::result<endpoint, http_error> endpoint::parse(std::string_view url) {
  auto bad = [&](std::string why) {
    return http_error{asio::error::invalid_argument, "invalid URL '" + std::string(url) + "': " + why};
  };
  auto u = boost::urls::parse_uri(url);
  if (!u) return bad(u.error().message());
  endpoint e;
  std::string scheme(u->scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (scheme == "https")
    e.tls = true;
  else if (scheme != "http")
    return bad("the scheme must be http or https");
  e.host = u->host_address();  // IPv6 without brackets
  if (e.host.empty()) return bad("no host");
  const std::uint16_t default_port = e.tls ? 443 : 80;
  e.port = u->has_port() ? u->port_number() : default_port;
  if (u->has_port() && e.port == 0) return bad("invalid port");
  e.host_header = std::string(u->encoded_host());  // keeps IPv6 brackets
  if (e.port != default_port) e.host_header += ":" + std::to_string(e.port);
  e.base_path = std::string(u->encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

// ---- pool ---------------------------------------------------------------------------------

namespace {

struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};
  bool connected = false;
  std::string verify_error;  // first certificate problem seen by the verify callback

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

enum class phase { write, read };

// The body is borrowed from the caller (no copy per attempt).
using outgoing_request = http::request<http::span_body<const char>>;

struct exchange_result {
  beast::error_code ec;
  phase where = phase::write;
  bool got_some = false;  // response bytes arrived before the error
  bool keep_alive = false;
  http::response<http::string_body> response;
};

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// A keep-alive connection the server closed while it sat idle fails like this.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

std::string describe_verify_failure(bool preverified, ssl::verify_context& ctx, const std::string& host) {
  X509_STORE_CTX* store = ctx.native_handle();
  std::string subject;
  if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
    char buf[256];
    if (X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf)) subject = buf;
  }
  std::string why;
  if (!preverified) {
    why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  } else {
    why = "the certificate does not match the host name '" + host + "'";
  }
  if (!subject.empty()) why += " (certificate subject " + subject + ")";
  return why;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

struct http_pool::impl {
  asio::any_io_executor ex;
  endpoint origin;
  pool_options options;
  std::optional<ssl::context> ssl_ctx;
  std::vector<connection_ptr> idle;  // back = most recently used
  std::deque<waiter*> waiters;
  std::size_t open = 0;  // connections counted against max_connections (idle + in use + connecting)
  pool_stats stats;

  std::string where() const { return origin.host + ":" + std::to_string(origin.port); }

  asio::awaitable<boost::system::result<connection_ptr, http_error>> acquire() {
    const auto now = steady::now();
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
      co_return http_error{asio::error::timed_out, "no free connection to " + where() + " within " +
                                                       millis(options.request_timeout) + " (max_connections " +
                                                       std::to_string(options.max_connections) + ")"};
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
    c->idle_since = steady::now();
    if (!waiters.empty())
      hand_to_waiter(std::move(c));
    else
      idle.push_back(std::move(c));
  }

  asio::awaitable<boost::system::result<void, http_error>> connect(connection& c) {
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(origin.host, std::to_string(origin.port), use_tuple);
    if (rec) co_return http_error{rec, "cannot resolve " + origin.host + ": " + rec.message()};
    if (origin.tls)
      c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *ssl_ctx);
    else
      c.plain = std::make_unique<beast::tcp_stream>(ex);
    auto& low = c.lowest();
    low.expires_after(options.connect_timeout);
    auto [cec, ep] = co_await low.async_connect(endpoints, use_tuple);
    if (cec) {
      std::string why =
          cec == beast::error::timeout ? "timed out after " + millis(options.connect_timeout) : cec.message();
      co_return http_error{cec, "connect to " + where() + " failed: " + why};
    }
    beast::error_code ignored;
    low.socket().set_option(tcp::no_delay(true), ignored);
    if (origin.tls) {
      SSL* ssl_handle = c.tls->native_handle();
      if (!is_ip_literal(origin.host))  // SNI: host names only (RFC 6066 §3)
        SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, origin.host.data());
      if (options.tls.insecure) {
        c.tls->set_verify_mode(ssl::verify_none);
      } else {
        c.tls->set_verify_mode(ssl::verify_peer);
        c.tls->set_verify_callback([&c, check = ssl::host_name_verification(origin.host), host = origin.host](
                                       bool preverified, ssl::verify_context& ctx) {
          const bool ok = check(preverified, ctx);
          if (!ok && c.verify_error.empty()) c.verify_error = describe_verify_failure(preverified, ctx, host);
          return ok;
        });
      }
      low.expires_after(options.connect_timeout);
      auto [hec] = co_await c.tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (hec) {
        std::string why =
            hec == beast::error::timeout ? "timed out after " + millis(options.connect_timeout) : hec.message();
        if (!c.verify_error.empty()) why += ": " + c.verify_error;
        co_return http_error{hec, "TLS handshake with " + where() + " failed: " + why};
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
    x.where = phase::read;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    parser.header_limit(64 * 1024);
    auto [rec, rn] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
    x.got_some = parser.got_some();
    if (rec) {
      x.ec = rec;
      co_return x;
    }
    c.lowest().expires_never();
    x.keep_alive = parser.get().keep_alive();
    x.response = parser.release();
    co_return x;
  }

  http_error describe(const exchange_result& x) const {
    std::string why =
        x.ec == beast::error::timeout ? "no response within " + millis(options.request_timeout) : x.ec.message();
    return {x.ec, (x.where == phase::write ? "sending the request to " : "reading the response from ") + where() +
                      " failed: " + why};
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
    p->ssl_ctx.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(p->ssl_ctx->native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    p->ssl_ctx->set_default_verify_paths(ec);  // a missing system store is not fatal
    if (!p->options.tls.ca_file.empty()) {
      p->ssl_ctx->load_verify_file(p->options.tls.ca_file, ec);
      if (ec) return http_error{ec, "cannot load the CA file '" + p->options.tls.ca_file + "': " + ec.message()};
    }
  }
  return std::unique_ptr<http_pool>(new http_pool(std::move(p)));
}

asio::awaitable<http_result> http_pool::request(http::verb method, std::string target, std::string_view body,
                                                request_headers headers) {
  impl& s = *impl_;
  outgoing_request req{method, target, 11};
  req.set(http::field::host, s.origin.host_header);
  req.set(http::field::user_agent, s.options.user_agent);
  if (!headers.accept.empty()) req.set(http::field::accept, headers.accept);
  if (!headers.authorization.empty()) req.set(http::field::authorization, headers.authorization);
  if (!headers.if_match.empty()) req.set(http::field::if_match, headers.if_match);
  if (!headers.prefer.empty()) req.set("Prefer", headers.prefer);
  if (!body.empty() && !headers.content_type.empty()) req.set(http::field::content_type, headers.content_type);
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
      http_response out;
      auto& r = x.response;
      out.status = r.result_int();
      out.etag = std::string(r[http::field::etag]);
      out.location = std::string(r[http::field::location]);
      out.retry_after = std::string(r[http::field::retry_after]);
      out.content_type = std::string(r[http::field::content_type]);
      out.body = std::move(r.body());
      co_return out;
    }
    s.release(std::move(conn), false);
    // The server closed an idle keep-alive connection: the request never reached it, resend
    // once on a fresh connection.
    const bool stale = reused && attempt == 0 && (x.where == phase::write || (!x.got_some && closed_by_peer(x.ec)));
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

}  // namespace iomt::fhir
