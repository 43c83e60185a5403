// fhir/http_pool.hpp (net/http_pool.hpp underneath) against a loopback keep-alive server: when an
// idle connection is too old to reuse is decided on the pool's clock, moved here by hand.
#include "fhir/http_pool.hpp"
#include "integration/fhir/test_servers.hpp"
#include "manual_clock.hpp"

#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using namespace iomt::fhir::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(an_idle_connection_older_than_idle_timeout_is_closed_instead_of_reused) {
  test_http_server server([](const request_t&) { return std::optional<response_t>(make_response(200, "{}")); });
  iomt::test::manual_clock clock;
  pool_options o;
  o.idle_timeout = 30s;
  o.now = clock.fn();
  asio::io_context ioc;
  auto origin = endpoint::parse("http://127.0.0.1:" + std::to_string(server.port()));
  BOOST_TEST_REQUIRE(origin.has_value());
  auto pool = http_pool::create(ioc.get_executor(), *origin, o);
  BOOST_TEST_REQUIRE(pool.has_value());
  auto get = [&] {
    auto r = run(ioc, (*pool)->request(http::verb::get, "/metadata", {}));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST(r->status == 200u);
  };
  get();
  BOOST_TEST((*pool)->stats().connections_opened == 1u);
  BOOST_TEST((*pool)->idle_connections() == 1u);

  clock.advance(o.idle_timeout - 1ms);  // idle, but not for idle_timeout: reused
  get();
  BOOST_TEST((*pool)->stats().connections_opened == 1u);
  BOOST_TEST(server.connections() == 1);

  clock.advance(o.idle_timeout);  // idle for idle_timeout: closed, a new connection is opened
  get();
  BOOST_TEST((*pool)->stats().connections_opened == 2u);
  BOOST_TEST(server.connections() == 2);
  BOOST_TEST((*pool)->open_connections() == 1u);  // the old one is closed, not kept
  BOOST_TEST((*pool)->idle_connections() == 1u);
  BOOST_TEST((*pool)->stats().stale_retries == 0u);  // closed by the pool, not found dead by a request
}

BOOST_AUTO_TEST_SUITE_END()
