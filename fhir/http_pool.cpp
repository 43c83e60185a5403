#include "fhir/http_pool.hpp"

#include <array>

namespace iomt::fhir {

namespace http = boost::beast::http;

http_pool::http_pool(std::unique_ptr<net::http_pool> pool, pool_options options)
    : pool_(std::move(pool)), options_(std::move(options)) {}

http_pool::~http_pool() = default;

boost::system::result<std::unique_ptr<http_pool>, http_error> http_pool::create(boost::asio::any_io_executor ex,
                                                                                endpoint origin, pool_options options) {
  net::pool_options o;
  o.max_connections = options.max_connections;
  o.connect_timeout = options.connect_timeout;
  o.request_timeout = options.request_timeout;
  o.idle_timeout = options.idle_timeout;
  o.max_response_bytes = options.max_response_bytes;
  o.tls.verify = !options.tls.insecure;
  o.tls.ca_file = options.tls.ca_file;
  o.user_agent = options.user_agent;
  o.now = options.now;
  auto pool = net::http_pool::create(std::move(ex), std::move(origin), std::move(o));
  if (!pool) return pool.error();
  return std::unique_ptr<http_pool>(new http_pool(std::move(*pool), std::move(options)));
}

boost::asio::awaitable<http_result> http_pool::request(http::verb method, std::string target, std::string_view body,
                                                       request_headers headers) {
  std::array<net::header_field, 5> fields;
  std::size_t n = 0;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!value.empty()) fields[n++] = {name, value};
  };
  add("Accept", headers.accept);
  add("Authorization", headers.authorization);
  add("If-Match", headers.if_match);
  add("Prefer", headers.prefer);
  if (!body.empty()) add("Content-Type", headers.content_type);
  auto r = co_await pool_->request(method, std::move(target), body, std::span(fields.data(), n));
  if (!r) co_return r.error();
  http_response out;
  out.status = r->result_int();
  out.etag = std::string((*r)[http::field::etag]);
  out.location = std::string((*r)[http::field::location]);
  out.retry_after = std::string((*r)[http::field::retry_after]);
  out.content_type = std::string((*r)[http::field::content_type]);
  out.body = std::move(r->body());
  co_return out;
}

const endpoint& http_pool::origin() const noexcept { return pool_->origin(); }
const pool_options& http_pool::options() const noexcept { return options_; }
const pool_stats& http_pool::stats() const noexcept { return pool_->stats(); }
std::size_t http_pool::open_connections() const noexcept { return pool_->open_connections(); }
std::size_t http_pool::idle_connections() const noexcept { return pool_->idle_connections(); }
void http_pool::close_idle() { pool_->close_idle(); }

}  // namespace iomt::fhir
