#include "transport/amqp/eventhubs/blob_client.hpp"

#include "net/http_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <charconv>
#include <exception>
#include <optional>
#include <vector>

namespace iomt::transport::amqp::eventhubs::blob {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

struct client::impl {
  asio::io_context io{1};
  std::unique_ptr<net::http_pool> pool;  // declared after io: destroyed before it
};

std::string status_text(const response& r) {
  std::string s = "HTTP " + std::to_string(r.status);
  if (!r.error_code.empty()) s += " " + r.error_code;
  return s;
}

error http_error(const response& r, std::string what) {
  const bool auth = r.status == 401 || r.status == 403;
  std::string d = std::move(what) + ": " + status_text(r);
  if (auth) d += " (check the account key or SAS and its permissions)";
  return {auth ? errc::authentication_failed : errc::management_error, std::move(d)};
}

boost::system::result<container_client, error> open_container(std::string_view location, std::string container,
                                                              client_options options, std::string_view what) {
  auto account = parse_storage_location(location, container);
  if (!account) return account.error();
  if (!valid_container_name(container))
    return error{errc::bad_configuration, std::string(what) + ": '" + container +
                                              "' is not a container name (3-63 lower-case letters, digits and '-')"};
  auto http = client::make(std::move(*account), std::move(options));
  if (!http) return http.error();
  return container_client{std::move(*http), std::move(container)};
}

client::client(storage_account account, client_options options)
    : account_(std::move(account)), options_(std::move(options)), impl_(std::make_unique<impl>()) {}

client::~client() = default;

boost::system::result<std::unique_ptr<client>, error> client::make(storage_account account, client_options options) {
  std::unique_ptr<client> c(new client(std::move(account), std::move(options)));
  const storage_account& a = c->account_;
  net::endpoint origin;
  origin.tls = a.tls;
  origin.host = a.host;
  origin.host_header = a.host_header();
  origin.base_path = a.base_path;
  const auto [end, ec] = std::from_chars(a.port.data(), a.port.data() + a.port.size(), origin.port);
  if (ec != std::errc{} || end != a.port.data() + a.port.size() || origin.port == 0)
    return error{errc::bad_configuration, "blob checkpoint store: " + a.endpoint() + ": bad port '" + a.port + "'"};
  net::pool_options o;
  o.max_connections = 1;  // the checkpoint store sends one request at a time
  o.connect_timeout = c->options_.connect_timeout;
  o.request_timeout = c->options_.request_timeout;
  o.max_response_bytes = c->options_.max_response_bytes;
  o.tls.verify = c->options_.tls_verify;
  o.tls.ca_file = c->options_.ca_file;
  auto pool = net::http_pool::create(c->impl_->io.get_executor(), std::move(origin), std::move(o));
  if (!pool) return error{errc::bad_configuration, "blob checkpoint store: " + pool.error().message};
  c->impl_->pool = std::move(*pool);
  return c;
}

namespace {

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

boost::system::result<response, error> client::send(blob_request r) {
  auto& im = *impl_;
  const std::string where = account_.endpoint();

  // Headers every request carries (signed).
  r.headers.emplace_back("x-ms-date", rfc1123(std::chrono::system_clock::now()));
  r.headers.emplace_back("x-ms-version", std::string(api_version));
  std::string authorization;
  if (!account_.account_key.empty())
    authorization = shared_key_authorization(account_.account_name, account_.account_key, r);
  std::string target = request_target(r, account_.account_key.empty() ? std::string_view(account_.sas) : "");

  const bhttp::verb verb = bhttp::string_to_verb(r.method);
  if (verb == bhttp::verb::unknown) return error{errc::bad_configuration, "blob request: unknown method " + r.method};

  std::vector<net::header_field> fields;
  fields.reserve(r.headers.size() + 1);
  for (const auto& [k, v] : r.headers) fields.push_back({k, v});
  if (!authorization.empty()) fields.push_back({"Authorization", authorization});

  // Run the exchange to completion on our own io_context (the pool's deadlines bound it).
  std::optional<net::http_result> result;
  std::exception_ptr failure;
  asio::co_spawn(im.io, im.pool->request(verb, std::move(target), {}, fields),
                 [&](std::exception_ptr e, net::http_result res) {
                   failure = e;
                   if (!e) result.emplace(std::move(res));
                 });
  im.io.restart();
  im.io.run();
  if (failure) std::rethrow_exception(failure);

  if (!result->has_value()) {
    const net::http_error& e = result->error();
    const std::string what = where + ": " + r.method + " " + r.path + ": ";
    switch (e.step) {
      case net::http_step::resolve:
        if (e.timed_out)
          return error{errc::timeout, where + ": resolving " + account_.host + " took longer than " +
                                          millis(options_.connect_timeout)};
        return error{errc::resolve_failed, where + ": " + account_.host + ": " + e.ec.message()};
      case net::http_step::connect:
        if (e.timed_out)
          return error{errc::timeout, where + ": connect: no answer within " + millis(options_.connect_timeout)};
        return error{errc::connect_failed, where + ": connect: " + e.ec.message()};
      case net::http_step::tls_handshake:
        if (e.timed_out)
          return error{errc::timeout, where + ": TLS handshake took longer than " + millis(options_.connect_timeout)};
        if (!e.certificate_refusal.empty())
          return error{errc::certificate_verify_failed,
                       where + ": " + e.certificate_refusal + " (" +
                           net::trust_anchors_text({options_.tls_verify, options_.ca_file}) + ")"};
        return error{errc::tls_handshake_failed, where + ": " + e.ec.message()};
      case net::http_step::write:
      case net::http_step::read:
        if (e.timed_out) return error{errc::timeout, what + "no answer within " + millis(options_.request_timeout)};
        return error{errc::connection_lost, what + e.ec.message()};
      default:
        return error{e.timed_out ? errc::timeout : errc::connection_lost, what + e.message};
    }
  }
  auto& res = result->value();
  response out;
  out.status = res.result_int();
  out.etag = std::string(res[bhttp::field::etag]);
  out.error_code = std::string(res["x-ms-error-code"]);
  out.offset = std::string(res["x-ms-meta-offset"]);
  out.sequence_number = std::string(res["x-ms-meta-sequencenumber"]);
  out.owner_id = std::string(res["x-ms-meta-ownerid"]);
  out.last_modified = std::string(res[bhttp::field::last_modified]);
  out.body = std::move(res.body());
  if (out.error_code.empty() && out.status >= 400) out.error_code = error_code_of(out.body);
  return out;
}

}  // namespace iomt::transport::amqp::eventhubs::blob
