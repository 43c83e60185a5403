// Retry classification (fhir/retry.hpp): fake clock and fixed jitter, no sockets.
#include "fhir/retry.hpp"
#include "fhir/errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>

using namespace iomt::fhir;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// Sun, 06 Nov 1994 08:49:37 GMT
const std::chrono::system_clock::time_point t0 =
    std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s;

retry_policy policy() { return retry_policy(retry_options{100ms, 1'000ms, 4, 60'000ms}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(success_and_not_found_are_final) {
  for (unsigned s : {200u, 201u, 204u, 304u, 404u, 410u}) {
    auto d = policy().on_response(1, s, "", "", t0, 0.5);
    BOOST_TEST((d.action == retry_action::done), s);
  }
}

BOOST_AUTO_TEST_CASE(conflicts_go_back_to_the_caller) {
  BOOST_TEST((policy().on_response(1, 409, "", "", t0, 0.5).action == retry_action::conflict));
  BOOST_TEST((policy().on_response(1, 412, "", "", t0, 0.5).action == retry_action::conflict));
}

BOOST_AUTO_TEST_CASE(throttling_honours_retry_after_seconds) {
  auto d = policy().on_response(1, 429, "3", "", t0, 0.9);
  BOOST_TEST((d.action == retry_action::retry));
  BOOST_TEST(d.delay.count() == 3000);
  d = policy().on_response(2, 503, " 0 ", "", t0, 0.9);
  BOOST_TEST((d.action == retry_action::retry));
  BOOST_TEST(d.delay.count() == 0);
}

BOOST_AUTO_TEST_CASE(throttling_honours_retry_after_dates) {
  auto d = policy().on_response(1, 503, "Sun, 06 Nov 1994 08:49:47 GMT", "", t0, 0.5);
  BOOST_TEST((d.action == retry_action::retry));
  BOOST_TEST(d.delay.count() == 10'000);
  // RFC 850 and asctime forms
  BOOST_TEST(parse_retry_after("Sunday, 06-Nov-94 08:49:39 GMT", t0).count() == 2);
  BOOST_TEST(parse_retry_after("Sun Nov  6 08:49:42 1994", t0).count() == 5);
  // in the past -> now
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", t0).count() == 0);
  // garbage -> -1 -> backoff
  BOOST_TEST(parse_retry_after("soon", t0).count() == -1);
  BOOST_TEST(parse_retry_after("12abc", t0).count() == -1);
  BOOST_TEST(parse_retry_after("Sun, 32 Nov 1994 08:49:47 GMT", t0).count() == -1);
  d = policy().on_response(1, 429, "soon", "", t0, 0.5);
  BOOST_TEST((d.action == retry_action::retry));
  BOOST_TEST(d.delay.count() == 50);
}

BOOST_AUTO_TEST_CASE(retry_after_is_clamped) {
  auto d = policy().on_response(1, 429, "86400", "", t0, 0.5);
  BOOST_TEST(d.delay.count() == 60'000);
}

BOOST_AUTO_TEST_CASE(server_errors_back_off_exponentially_with_full_jitter) {
  const auto p = policy();
  // ceilings 100, 200, 400, 800, 1000 (capped)
  BOOST_TEST(p.backoff(1, 1.0).count() == 100);
  BOOST_TEST(p.backoff(2, 1.0).count() == 200);
  BOOST_TEST(p.backoff(3, 1.0).count() == 400);
  BOOST_TEST(p.backoff(4, 1.0).count() == 800);
  BOOST_TEST(p.backoff(5, 1.0).count() == 1000);
  BOOST_TEST(p.backoff(60, 1.0).count() == 1000);
  BOOST_TEST(p.backoff(3, 0.0).count() == 0);
  BOOST_TEST(p.backoff(3, 0.25).count() == 100);
  for (unsigned s : {500u, 502u, 503u, 504u, 408u}) {
    auto d = p.on_response(2, s, "", "", t0, 0.5);
    BOOST_TEST((d.action == retry_action::retry), s);
  }
  BOOST_TEST(p.on_response(2, 500, "", "", t0, 0.5).delay.count() == 100);
}

BOOST_AUTO_TEST_CASE(attempts_are_bounded) {
  const auto p = policy();
  auto d = p.on_response(4, 503, "1", "", t0, 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "503 Service Unavailable (gave up after 4 attempts)");
  d = p.on_response(4, 500, "", R"({"resourceType":"OperationOutcome","issue":[{"diagnostics":"db down"}]})", t0, 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "500 Internal Server Error: db down (gave up after 4 attempts)");
  d = p.on_error(4, boost::asio::error::connection_refused, "connect failed", 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "connect failed (gave up after 4 attempts)");
}

BOOST_AUTO_TEST_CASE(other_client_errors_are_permanent_with_the_outcome_text) {
  const auto body =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"structure","details":{"text":"Invalid additional property \"foo\""}},{"diagnostics":"second"}]})";
  auto d = policy().on_response(1, 400, "", body, t0, 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "400 Bad Request: Invalid additional property \"foo\"; second");
  d = policy().on_response(1, 422, "", "plain text", t0, 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "422 Unprocessable Entity: plain text");
  d = policy().on_response(1, 501, "", "", t0, 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "501 Not Implemented");
}

BOOST_AUTO_TEST_CASE(operation_outcome_text_prefers_diagnostics) {
  BOOST_TEST(operation_outcome_text(
                 R"({"resourceType":"OperationOutcome","issue":[{"diagnostics":"d","details":{"text":"t"}}]})") == "d");
  BOOST_TEST(operation_outcome_text("") == "");
  BOOST_TEST(operation_outcome_text(std::string(400, 'x')).size() == 303u);
}

BOOST_AUTO_TEST_CASE(network_errors) {
  const auto p = policy();
  auto d = p.on_error(1, boost::asio::error::connection_reset, "", 1.0);
  BOOST_TEST((d.action == retry_action::retry));
  BOOST_TEST(d.delay.count() == 100);
  BOOST_TEST(!d.reason.empty());
  // cancellation and TLS failures do not heal
  BOOST_TEST((p.on_error(1, boost::asio::error::operation_aborted, "x", 0.5).action == retry_action::fail));
  const boost::system::error_code verify(SSL_R_CERTIFICATE_VERIFY_FAILED, boost::asio::error::get_ssl_category());
  d = p.on_error(1, verify, "TLS handshake failed: certificate verify failed", 0.5);
  BOOST_TEST((d.action == retry_action::fail));
  BOOST_TEST(d.reason == "TLS handshake failed: certificate verify failed");
  // a truncated TLS stream is just a dropped connection
  BOOST_TEST(!is_permanent_network_error(boost::asio::ssl::error::stream_truncated));
}

BOOST_AUTO_TEST_CASE(status_texts) {
  BOOST_TEST(status_text(412) == "412 Precondition Failed");
  BOOST_TEST(status_text(429) == "429 Too Many Requests");
  BOOST_TEST(status_text(542) == "542");
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 12: a FHIR failure is classified once, where the status is seen, and the class travels
// with the error: the sources never look at exception names.
BOOST_AUTO_TEST_CASE(failures_are_classified_once_by_status) {
  using iomt::fhir::status_class;
  using iomt::mapping::failure_class;
  BOOST_TEST((status_class(429) == failure_class::throttled));
  BOOST_TEST((status_class(503) == failure_class::throttled));
  BOOST_TEST((status_class(408) == failure_class::transient));
  BOOST_TEST((status_class(500) == failure_class::transient));
  BOOST_TEST((status_class(502) == failure_class::transient));
  BOOST_TEST((status_class(504) == failure_class::transient));
  BOOST_TEST((status_class(501) == failure_class::permanent));
  BOOST_TEST((status_class(505) == failure_class::permanent));
  BOOST_TEST((status_class(401) == failure_class::blocked));
  BOOST_TEST((status_class(403) == failure_class::blocked));
  BOOST_TEST((status_class(400) == failure_class::permanent));
  BOOST_TEST((status_class(422) == failure_class::permanent));
  const auto e = iomt::fhir::status_error("PUT Observation/x", 429, "429 Too Many Requests");
  BOOST_TEST(e.type == "FhirClientException");  // the name users know stays the type
  BOOST_TEST((e.cls == failure_class::throttled));
  BOOST_TEST((iomt::fhir::network_error("GET x", "reset").cls == failure_class::transient));
  BOOST_TEST((iomt::fhir::authentication_error("down").cls == failure_class::transient));
}
