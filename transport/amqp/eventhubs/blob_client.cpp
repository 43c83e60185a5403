#include "transport/amqp/eventhubs/blob_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <optional>

namespace iomt::transport::amqp::eventhubs::blob {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

struct client::impl {
  asio::io_context io{1};
  std::optional<ssl::context> ctx;
  std::unique_ptr<beast::tcp_stream> tcp_stream;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;
  bool open = false;

  beast::tcp_stream& lowest() { return tls_stream ? tls_stream->next_layer() : *tcp_stream; }

  void close() {
    error_code ec;
    if (tls_stream) tls_stream->next_layer().socket().close(ec);
    if (tcp_stream) tcp_stream->socket().close(ec);
    // Let cancelled handlers run before the streams go.
    io.restart();
    io.poll();
    tls_stream.reset();
    tcp_stream.reset();
    buffer.clear();
    open = false;
  }

  // Runs the io_context until the started operation(s) complete; the tcp_stream's expiry
  // guarantees they do.
  void run() {
    io.restart();
    io.run();
  }
};

client::client(storage_account account, client_options options)
    : account_(std::move(account)), options_(std::move(options)), impl_(std::make_unique<impl>()) {}

client::~client() {
  if (impl_) impl_->close();
}

boost::system::result<std::unique_ptr<client>, error> client::make(storage_account account, client_options options) {
  std::unique_ptr<client> c(new client(std::move(account), std::move(options)));
  if (c->account_.tls) {
    auto& ctx = c->impl_->ctx.emplace(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (c->options_.tls_verify) {
      error_code ec;
      if (!c->options_.ca_file.empty()) {
        ctx.load_verify_file(c->options_.ca_file, ec);
        if (ec)
          return error{errc::bad_configuration,
                       "blob checkpoint store: cannot read the CA file " + c->options_.ca_file + ": " + ec.message()};
      } else {
        ctx.set_default_verify_paths(ec);
        if (ec)
          return error{errc::bad_configuration,
                       "blob checkpoint store: cannot load the system trust store: " + ec.message()};
      }
      ctx.set_verify_mode(ssl::verify_peer);
    } else {
      ctx.set_verify_mode(ssl::verify_none);
    }
  }
  return c;
}

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

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
  const std::string target = request_target(r, account_.account_key.empty() ? std::string_view(account_.sas) : "");

  bhttp::verb verb = bhttp::string_to_verb(r.method);
  if (verb == bhttp::verb::unknown) return error{errc::bad_configuration, "blob request: unknown method " + r.method};

  auto connect = [&]() -> error {
    const auto deadline = clock_type::now() + options_.connect_timeout;
    tcp::resolver resolver(im.io);
    tcp::resolver::results_type endpoints;
    error_code rec;
    bool resolved = false;
    resolver.async_resolve(account_.host, account_.port, [&](error_code ec, tcp::resolver::results_type res) {
      rec = ec;
      endpoints = std::move(res);
      resolved = true;
    });
    im.io.restart();
    im.io.run_until(deadline);
    if (!resolved) {
      resolver.cancel();
      im.run();
      return {errc::timeout, where + ": resolving " + account_.host + " took longer than " +
                                 std::to_string(options_.connect_timeout.count()) + " ms"};
    }
    if (rec) return {errc::resolve_failed, where + ": " + account_.host + ": " + rec.message()};
    if (account_.tls) {
      im.tls_stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(im.io, *im.ctx);
      if (!is_ip_literal(account_.host))
        SSL_ctrl(im.tls_stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 static_cast<void*>(const_cast<char*>(account_.host.c_str())));  // SNI
      if (options_.tls_verify) im.tls_stream->set_verify_callback(ssl::host_name_verification(account_.host));
    } else {
      im.tcp_stream = std::make_unique<beast::tcp_stream>(im.io);
    }
    error_code cec;
    im.lowest().expires_at(deadline);
    im.lowest().async_connect(endpoints, [&](error_code ec, const tcp::endpoint&) { cec = ec; });
    im.run();
    if (cec) {
      const bool to = cec == beast::error::timeout;
      im.close();
      return {
          to ? errc::timeout : errc::connect_failed,
          where + ": connect: " +
              (to ? "no answer within " + std::to_string(options_.connect_timeout.count()) + " ms" : cec.message())};
    }
    if (account_.tls) {
      error_code hec;
      im.lowest().expires_at(deadline);
      im.tls_stream->async_handshake(ssl::stream_base::client, [&](error_code ec) { hec = ec; });
      im.run();
      if (hec) {
        const long verify = SSL_get_verify_result(im.tls_stream->native_handle());
        const bool verify_failed = (verify != X509_V_OK) || (hec.category() == asio::error::get_ssl_category() &&
                                                             ERR_GET_REASON(static_cast<unsigned long>(hec.value())) ==
                                                                 SSL_R_CERTIFICATE_VERIFY_FAILED);
        std::string detail = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : hec.message();
        im.close();
        if (hec == beast::error::timeout)
          return {errc::timeout, where + ": TLS handshake took longer than " +
                                     std::to_string(options_.connect_timeout.count()) + " ms"};
        if (verify_failed)
          return {errc::certificate_verify_failed,
                  where + ": " + detail +
                      (options_.ca_file.empty() ? " (system trust store)" : " (CA file " + options_.ca_file + ")")};
        return {errc::tls_handshake_failed, where + ": " + detail};
      }
    }
    im.open = true;
    return {};
  };

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = im.open;
    if (!im.open)
      if (auto err = connect()) return err;
    bhttp::request<bhttp::empty_body> req{verb, target, 11};
    req.set(bhttp::field::host, account_.host_header());
    req.set(bhttp::field::user_agent, "iomtflow");
    for (const auto& [k, v] : r.headers) req.set(k, v);
    if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
    if (verb == bhttp::verb::put) req.set(bhttp::field::content_length, "0");
    req.keep_alive(true);

    const auto deadline = clock_type::now() + options_.request_timeout;
    error_code wec;
    im.lowest().expires_at(deadline);
    if (im.tls_stream)
      bhttp::async_write(*im.tls_stream, req, [&](error_code ec, std::size_t) { wec = ec; });
    else
      bhttp::async_write(*im.tcp_stream, req, [&](error_code ec, std::size_t) { wec = ec; });
    im.run();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    if (verb == bhttp::verb::head) parser.skip(true);
    error_code rec = wec;
    if (!wec) {
      im.lowest().expires_at(deadline);
      if (im.tls_stream)
        bhttp::async_read(*im.tls_stream, im.buffer, parser, [&](error_code ec, std::size_t) { rec = ec; });
      else
        bhttp::async_read(*im.tcp_stream, im.buffer, parser, [&](error_code ec, std::size_t) { rec = ec; });
      im.run();
    }
    if (rec) {
      const bool to = rec == beast::error::timeout;
      im.close();
      if (reused && !to) continue;  // a keep-alive connection the server had closed
      return error{
          to ? errc::timeout : errc::connection_lost,
          where + ": " + r.method + " " + r.path + ": " +
              (to ? "no answer within " + std::to_string(options_.request_timeout.count()) + " ms" : rec.message())};
    }
    auto& res = parser.get();
    response out;
    out.status = res.result_int();
    out.etag = std::string(res[bhttp::field::etag]);
    out.error_code = std::string(res["x-ms-error-code"]);
    out.offset = std::string(res["x-ms-meta-offset"]);
    out.sequence_number = std::string(res["x-ms-meta-sequencenumber"]);
    out.body = std::move(res.body());
    if (out.error_code.empty() && out.status >= 400) out.error_code = error_code_of(out.body);
    if (!res.keep_alive()) im.close();
    return out;
  }
  return error{errc::connection_lost, where + ": " + r.method + " " + r.path + ": the connection closed twice"};
}

}  // namespace iomt::transport::amqp::eventhubs::blob
