// The sans-io token cache of OAuth2 client credentials (fhir/auth.hpp).
#include "fhir/auth.hpp"

#include <boost/test/unit_test.hpp>

using namespace iomt::fhir;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(request_body_is_form_encoded) {
  auth_options o;
  o.client_id = "my app";
  o.client_secret = "s3cr+t/&=x";
  o.scope = "https://x.fhir.azurehealthcareapis.com/.default";
  BOOST_TEST(token_state::request_body(o) ==
             "grant_type=client_credentials&client_id=my+app&client_secret=s3cr%2Bt%2F%26%3Dx"
             "&scope=https%3A%2F%2Fx.fhir.azurehealthcareapis.com%2F.default");
  o.scope.clear();
  o.resource = "https://r";
  BOOST_TEST(
      token_state::request_body(o) ==
      "grant_type=client_credentials&client_id=my+app&client_secret=s3cr%2Bt%2F%26%3Dx&resource=https%3A%2F%2Fr");
}

BOOST_AUTO_TEST_CASE(refresh_at_80_percent_and_valid_until_expiry_minus_skew) {
  token_state s;
  const auto t0 = token_state::clock::time_point{} + 1000h;
  BOOST_TEST(!s.valid(t0));
  BOOST_TEST(s.refresh_due(t0));
  auto r = s.on_response(200, R"({"access_token":"abc","token_type":"Bearer","expires_in":3600})", t0);
  BOOST_TEST(r.has_value());
  BOOST_TEST(s.authorization() == "Bearer abc");
  BOOST_TEST(s.valid(t0));
  BOOST_TEST(!s.refresh_due(t0 + 2879s));
  BOOST_TEST(s.refresh_due(t0 + 2880s));  // 80 %
  BOOST_TEST(s.valid(t0 + 3569s));        // 30 s skew
  BOOST_TEST(!s.valid(t0 + 3570s));
  s.invalidate();
  BOOST_TEST(!s.valid(t0));
  BOOST_TEST(s.refresh_due(t0));
}

BOOST_AUTO_TEST_CASE(expires_in_as_string_and_short_lifetimes) {
  token_state s;
  const auto t0 = token_state::clock::time_point{} + 1000h;
  BOOST_TEST(s.on_response(200, R"({"access_token":"x","expires_in":"100"})", t0).has_value());
  BOOST_TEST(s.refresh_due(t0 + 80s));
  BOOST_TEST(!s.refresh_due(t0 + 79s));
  BOOST_TEST(s.valid(t0 + 89s));  // skew = 10 % for short tokens
  BOOST_TEST(!s.valid(t0 + 90s));
  // no expires_in: assume 5 minutes
  BOOST_TEST(s.on_response(200, R"({"access_token":"y"})", t0).has_value());
  BOOST_TEST(s.refresh_due(t0 + 240s));
  BOOST_TEST(s.authorization() == "Bearer y");
}

BOOST_AUTO_TEST_CASE(errors_carry_the_endpoint_message) {
  token_state s;
  const auto t0 = token_state::clock::time_point{} + 1000h;
  auto r = s.on_response(
      401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"})", t0);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().type == "AuthenticationFailedException");
  BOOST_TEST(
      r.error().message ==
      "Could not get an access token: the token endpoint answered 401 Unauthorized: invalid_client: AADSTS7000215: "
      "Invalid client secret");
  r = s.on_response(200, R"({"token_type":"Bearer"})", t0);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message == "Could not get an access token: the token endpoint's response has no access_token");
  r = s.on_response(200, "not json", t0);
  BOOST_TEST(r.has_error());
  BOOST_TEST(!s.valid(t0));
}

BOOST_AUTO_TEST_SUITE_END()
