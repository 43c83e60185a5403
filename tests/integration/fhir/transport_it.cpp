// The HTTP side of the FHIR client: keep-alive reuse, the connection limit, stale keep-alive
// connections, 429/503 with Retry-After and dropped connections (a fault-injecting proxy in front
// of the real FHIR server), TLS verification, OAuth2 client credentials.
#include "fhir/client.hpp"
#include "fhir/errors.hpp"
#include "fhir/observation_store.hpp"
#include "fhir_test_support.hpp"
#include "test_servers.hpp"

#include <boost/test/unit_test.hpp>

#include <deque>

using namespace iomt::fhir;
using namespace iomt::fhir::test;
using namespace std::chrono_literals;
namespace mf = iomt::mapping::fhir;

namespace {

client_options fast_retries(std::string url) {
  client_options o;
  o.base_url = std::move(url);
  o.retry = retry_options{5ms, 50ms, 6, 5'000ms};
  return o;
}

std::unique_ptr<client> make_client(asio::io_context& ioc, client_options o) {
  auto c = client::create(ioc.get_executor(), std::move(o));
  BOOST_TEST_REQUIRE(c.has_value(), (c ? "" : c.error().message));
  return std::move(*c);
}

// A fixed Observation: create() gives it, merge() reports "unchanged".
class fixed_source final : public observation_source {
public:
  explicit fixed_source(std::string id) : id_(std::move(id)) {}
  iomt::mapping::result<boost::json::object> create() const override {
    return boost::json::object{
        {"resourceType", "Observation"},
        {"id", id_},
        {"identifier", boost::json::array{boost::json::object{{"system", "urn:t"}, {"value", id_}}}},
        {"status", "final"},
        {"code", boost::json::object{{"text", "t"}}},
        {"valueQuantity", boost::json::object{{"value", 1.5}}}};
  }
  iomt::mapping::result<mf::merge_outcome> merge(const boost::json::object& existing) const override {
    return mf::merge_outcome{existing, false};
  }
  observation_write write() const { return {{"urn:t", id_}, id_, this}; }

private:
  std::string id_;
};

std::size_t history_length(const std::string& id) { return versions_of("Observation", id); }

response_t capability() {
  return make_response(
      200, R"({"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1",)"
           R"("format":["json"],"rest":[{"mode":"server","interaction":[{"code":"batch"}]}]})");
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(transport, empty_server)

BOOST_AUTO_TEST_CASE(keep_alive_connections_are_reused) {
  asio::io_context ioc;
  auto fhir = make_client(ioc, fast_retries(fhir_server::url()));
  for (int i = 0; i < 10; ++i) {
    auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->status == 200u);
  }
  BOOST_TEST(fhir->connection_stats().connections_opened == 1u);
  BOOST_TEST(run(ioc, fhir->supports_batch()));
  BOOST_TEST(run(ioc, fhir->check_ready()).has_value());
}

BOOST_AUTO_TEST_CASE(concurrent_requests_share_a_bounded_pool) {
  asio::io_context ioc;
  auto o = fast_retries(fhir_server::url());
  o.pool.max_connections = 2;
  auto fhir = make_client(ioc, o);
  int ok = 0;
  for (int i = 0; i < 12; ++i)
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          auto r = co_await fhir->send(http::verb::get, "metadata");
          if (r && r->status == 200) ++ok;
        },
        log_exception("concurrent request"));
  ioc.run();
  BOOST_TEST(ok == 12);
  BOOST_TEST(fhir->connection_stats().connections_opened <= 2u);
  BOOST_TEST(fhir->connection_stats().connections_opened >= 1u);
}

BOOST_AUTO_TEST_CASE(a_keep_alive_connection_closed_by_the_server_is_retried_once) {
  test_http_server server([](const request_t&) { return std::optional<response_t>(capability()); }, nullptr, true);
  asio::io_context ioc;
  auto o = fast_retries("http://127.0.0.1:" + std::to_string(server.port()) + "/fhir");
  o.retry.max_attempts = 1;  // the pool's own resend must do it
  auto fhir = make_client(ioc, o);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(20ms);  // let the server's FIN arrive
    auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST(r->status == 200u);
  }
  BOOST_TEST(fhir->connection_stats().stale_retries == 2u);
  BOOST_TEST(fhir->stats().requests == 3u);
}

BOOST_AUTO_TEST_CASE(throttling_and_outages_then_every_observation_is_written_exactly_once) {
  // search passes; then the PUT meets 429 (Retry-After 1 s), 503 (Retry-After 0), a dropped
  // connection and a 500 before the proxy lets it through
  fault_proxy proxy(fhir_server::url(), {{429, "1"}, {503, "0"}, {0, ""}, {500, ""}}, 1);
  asio::io_context ioc;
  auto fhir = make_client(ioc, fast_retries(proxy.url()));
  observation_store store(*fhir);
  fixed_source obs("throttled-1");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(ioc, store.save(obs.write()));
  const auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST((r->operation == save_operation::created));
  BOOST_TEST(proxy.injected() == 4);
  BOOST_TEST(proxy.forwarded_count("PUT") == 1);
  BOOST_TEST(fhir->stats().throttled == 2u);
  // the dropped connection was a reused keep-alive one: the pool resent it at once, the other
  // three went through the retry policy
  BOOST_TEST(fhir->connection_stats().stale_retries == 1u);
  BOOST_TEST(fhir->stats().retries == 3u);
  BOOST_TEST(waited >= 1s);  // Retry-After honoured
  BOOST_TEST(history_length("throttled-1") == 1u);
}

BOOST_AUTO_TEST_CASE(batch_bundles_survive_throttling_and_write_once) {
  fault_proxy proxy(fhir_server::url(), {{503, "0"}, {429, "0"}, {0, ""}}, 1);  // after the search batch
  asio::io_context ioc;
  auto fhir = make_client(ioc, fast_retries(proxy.url()));
  observation_store store(*fhir);
  std::deque<fixed_source> sources;
  std::vector<observation_write> writes;
  for (int i = 0; i < 5; ++i) writes.push_back(sources.emplace_back("batch-" + std::to_string(i)).write());
  auto results = run(ioc, store.save_batch(writes));
  for (const auto& r : results) {
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST((r->operation == save_operation::created));
  }
  BOOST_TEST(proxy.forwarded_count("POST") == 2);  // searches + writes, each once
  for (int i = 0; i < 5; ++i) BOOST_TEST(history_length("batch-" + std::to_string(i)) == 1u);
}

BOOST_AUTO_TEST_CASE(retries_are_bounded) {
  fault_proxy proxy(fhir_server::url(), std::vector<fault>(10, {503, "0"}));
  asio::io_context ioc;
  auto o = fast_retries(proxy.url());
  o.retry.max_attempts = 3;
  auto fhir = make_client(ioc, o);
  observation_store store(*fhir);
  fixed_source obs("never");
  auto r = run(ioc, store.save(obs.write()));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "FhirClientException");
  BOOST_TEST(r.error().message ==
             "GET Observation?identifier=urn:t%7Cnever failed: 503 Service Unavailable: injected 503 (gave up after 3 "
             "attempts)");
  BOOST_TEST(proxy.injected() == 3);
}

BOOST_AUTO_TEST_CASE(network_errors_are_reported_after_retries) {
  asio::io_context ioc;
  auto o = fast_retries("http://127.0.0.1:" + std::to_string(free_port()) + "/fhir");
  o.retry.max_attempts = 2;
  auto fhir = make_client(ioc, o);
  auto r = run(ioc, fhir->read("Patient", "x"));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "HttpRequestException");
  BOOST_TEST(r.error().message.find("GET Patient/x failed: connect to 127.0.0.1:") == 0u, r.error().message);
  BOOST_TEST(r.error().message.find("(gave up after 2 attempts)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(request_timeout) {
  test_http_server slow([](const request_t&) {
    std::this_thread::sleep_for(300ms);
    return std::optional<response_t>(capability());
  });
  asio::io_context ioc;
  auto o = fast_retries("http://127.0.0.1:" + std::to_string(slow.port()) + "/fhir");
  o.pool.request_timeout = 100ms;
  o.retry.max_attempts = 1;
  auto fhir = make_client(ioc, o);
  auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message.find("no response within 100 ms") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(tls_verification) {
  const pem_pair pem = make_self_signed("DNS:localhost,IP:127.0.0.1");
  test_http_server server([](const request_t&) { return std::optional<response_t>(capability()); }, server_tls(pem));
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/fhir";
  const temp_file ca(pem.cert);
  asio::io_context ioc;

  {  // verification on by default: a self-signed certificate is refused, clearly
    auto o = fast_retries(url);
    auto fhir = make_client(ioc, o);
    auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST(r.error().type == "HttpRequestException");
    BOOST_TEST(r.error().message.find("TLS handshake with localhost:") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("certificate verify failed") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("self-signed certificate") != std::string::npos, r.error().message);
    BOOST_TEST(fhir->stats().requests == 1u);  // not retried: it cannot heal
  }
  {  // trusted through the CA file
    auto o = fast_retries(url);
    o.pool.tls.ca_file = ca.path;
    auto fhir = make_client(ioc, o);
    auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST(r->status == 200u);
    // and by IP address (SAN IP:127.0.0.1)
    auto o2 = fast_retries("https://127.0.0.1:" + std::to_string(server.port()) + "/fhir");
    o2.pool.tls.ca_file = ca.path;
    auto by_ip = make_client(ioc, o2);
    BOOST_TEST(run(ioc, by_ip->send(http::verb::get, "metadata")).has_value());
  }
  {  // insecure: tests only
    auto o = fast_retries(url);
    o.pool.tls.insecure = true;
    auto fhir = make_client(ioc, o);
    BOOST_TEST(run(ioc, fhir->send(http::verb::get, "metadata")).has_value());
  }
  {  // unreadable CA file
    auto o = fast_retries(url);
    o.pool.tls.ca_file = "/nonexistent/ca.pem";
    auto c = client::create(ioc.get_executor(), o);
    BOOST_TEST_REQUIRE(c.has_error());
    BOOST_TEST(c.error().message.find("cannot load the CA file '/nonexistent/ca.pem'") != std::string::npos,
               c.error().message);
  }
}

BOOST_AUTO_TEST_CASE(tls_host_name_mismatch) {
  const pem_pair pem = make_self_signed("DNS:other.example");
  test_http_server server([](const request_t&) { return std::optional<response_t>(capability()); }, server_tls(pem));
  const temp_file ca(pem.cert);
  asio::io_context ioc;
  auto o = fast_retries("https://localhost:" + std::to_string(server.port()) + "/fhir");
  o.pool.tls.ca_file = ca.path;
  auto fhir = make_client(ioc, o);
  auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message.find("does not match the host name 'localhost'") != std::string::npos,
             r.error().message);
}

BOOST_AUTO_TEST_CASE(oauth2_client_credentials) {
  std::atomic<int> issued{0};
  std::string last_form;
  std::mutex m;
  test_http_server token_endpoint([&](const request_t& req) {
    {
      std::lock_guard lock(m);
      last_form = req.body();
    }
    std::this_thread::sleep_for(50ms);  // slow enough for concurrent callers to pile up
    const int n = ++issued;
    return std::optional<response_t>(make_response(
        200, R"({"token_type":"Bearer","expires_in":3600,"access_token":"tok-)" + std::to_string(n) + R"("})",
        "application/json"));
  });
  std::atomic<int> accepted_token{1};
  test_http_server fhir_side([&](const request_t& req) {
    if (req[http::field::authorization] != "Bearer tok-" + std::to_string(accepted_token.load()))
      return std::optional<response_t>(make_response(401, R"({"resourceType":"OperationOutcome","issue":[]})"));
    return std::optional<response_t>(capability());
  });
  asio::io_context ioc;
  auto o = fast_retries("http://127.0.0.1:" + std::to_string(fhir_side.port()) + "/fhir");
  o.auth.kind = auth_kind::client_credentials;
  o.auth.token_url = "http://127.0.0.1:" + std::to_string(token_endpoint.port()) + "/tenant/oauth2/v2.0/token";
  o.auth.client_id = "iomt";
  o.auth.client_secret = "s&cret";
  o.auth.scope = "https://fhir.example/.default";
  auto fhir = make_client(ioc, o);
  int ok = 0;
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          auto r = co_await fhir->send(http::verb::get, "metadata");
          if (r && r->status == 200) ++ok;
        },
        log_exception("concurrent request"));
  ioc.run();
  BOOST_TEST(ok == 5);
  BOOST_TEST(issued.load() == 1);  // one shared refresh
  {
    std::lock_guard lock(m);
    BOOST_TEST(last_form ==
               "grant_type=client_credentials&client_id=iomt&client_secret=s%26cret&scope=https%3A%2F%2Ffhir.example%"
               "2F.default");
  }
  // the server stops accepting the token: a 401 fetches a new one, once
  accepted_token = 2;
  auto r = run(ioc, fhir->send(http::verb::get, "metadata"));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->status == 200u);
  BOOST_TEST(issued.load() == 2);
  // a token endpoint that refuses us is an AuthenticationFailedException
  test_http_server refusing([](const request_t&) {
    return std::optional<response_t>(
        make_response(401, R"({"error":"invalid_client","error_description":"bad secret"})", "application/json"));
  });
  auto o2 = o;
  o2.auth.token_url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/token";
  auto denied = make_client(ioc, o2);
  auto d = run(ioc, denied->send(http::verb::get, "metadata"));
  BOOST_TEST_REQUIRE(d.has_error());
  BOOST_TEST(d.error().type == "AuthenticationFailedException");
  BOOST_TEST(d.error().message ==
             "Could not get an access token: the token endpoint answered 401 Unauthorized: invalid_client: bad secret");
  BOOST_TEST(run(ioc, denied->check_ready()).has_error());  // not ready: not authorized
}

BOOST_AUTO_TEST_SUITE_END()
