#define BOOST_TEST_MODULE bearer_auth
// auth: jwt on ingest (transport/http/bearer_auth.hpp): the answers (401 / 403 / 503 with their
// WWW-Authenticate and Retry-After), the per-connection cache, the unknown-kid refresh hook, the
// JWK Set refresh schedule, and eventhub_ingest with jwt alone or with SAS.
#include "transport/http/bearer_auth.hpp"
#include "transport/http/eventhub_request.hpp"
#include "transport/http/jwks_client.hpp"
#include "unit/net/jose_test_support.hpp"

#include <boost/test/unit_test.hpp>

using namespace iomt;
using namespace iomt::test;
using namespace iomt::transport::http;
using jose::algorithm;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t now = 1800000000;

struct fixture {
  jose::signing_key rsa = make_key("RSA", algorithm::rs256, "k1");
  std::shared_ptr<bearer_verifier> verifier;
  int refresh_requests = 0;

  explicit fixture(bool sas_too = false) {
    jose::jwt_policy p;
    p.issuers = {"https://issuer.example"};
    p.audiences = {"api://iomtflow"};
    p.roles = {"IomtFlow.Send"};
    verifier = std::make_shared<bearer_verifier>(p, sas_too);
    verifier->on_unknown_key([this] { ++refresh_requests; });
    verifier->set_keys(std::make_shared<const jose::key_set>(key_set_of(jwks_json(rsa))));
  }

  static boost::json::object claims() {
    return {{"iss", "https://issuer.example"},
            {"aud", "api://iomtflow"},
            {"exp", now + 600},
            {"roles", boost::json::array{"IomtFlow.Send"}}};
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(bearer, fixture)

BOOST_AUTO_TEST_CASE(valid_token) {
  const std::string token = sign(rsa, claims());
  auto r = verifier->check("Bearer " + token, now);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(verifier->check("bearer  " + token, now).has_value());  // scheme is case-insensitive
  BOOST_TEST(verifier->stats().accepted.load() == 2u);
}

BOOST_AUTO_TEST_CASE(no_or_other_credentials_401_with_a_bare_challenge) {
  auto r = verifier->check("", now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 401u);
  BOOST_TEST(r.error().www_authenticate == "Bearer realm=\"iomtflow\"");
  BOOST_TEST(r.error().message.find("Authorization: Bearer") != std::string::npos);
  r = verifier->check("SharedAccessSignature sr=x&sig=y&se=1&skn=z", now);
  BOOST_TEST(r.error().message.find("not a bearer token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_token_401_says_which_check_without_the_token) {
  auto c = claims();
  c["aud"] = "other";
  const std::string token = sign(rsa, c);
  auto r = verifier->check("Bearer " + token, now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 401u);
  BOOST_TEST(r.error().message.rfind("JWT wrong_audience: ", 0) == 0u);
  BOOST_TEST(r.error().www_authenticate.find("error=\"invalid_token\"") != std::string::npos);
  BOOST_TEST(r.error().www_authenticate.find("wrong_audience") != std::string::npos);
  BOOST_TEST(r.error().message.find(token.substr(0, 20)) == std::string::npos);
  const auto res = make_error_response(r.error(), 11, true);
  BOOST_TEST(std::string(res[bhttp::field::www_authenticate]) == r.error().www_authenticate);
  BOOST_TEST(res.body().find(token.substr(0, 20)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_role_is_403_insufficient_scope) {
  auto c = claims();
  c.erase("roles");
  auto r = verifier->check("Bearer " + sign(rsa, c), now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 403u);
  BOOST_TEST(r.error().www_authenticate.find("error=\"insufficient_scope\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_kid_asks_for_a_refresh_and_a_retry) {
  const auto k2 = make_key("RSA", algorithm::rs256, "k2");
  const std::string header = "Bearer " + sign(k2, claims());
  auto r = verifier->check(header, now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 401u);
  BOOST_TEST(r.error().retry_after == "1");
  BOOST_TEST(r.error().message.find("being refreshed: retry") != std::string::npos);
  BOOST_TEST(refresh_requests == 1);
  verifier->set_keys(std::make_shared<const jose::key_set>(key_set_of(jwks_json(rsa, k2))));
  BOOST_TEST(verifier->check(header, now).has_value());
}

BOOST_AUTO_TEST_CASE(keys_not_loaded_is_503) {
  jose::jwt_policy p = verifier->policy();
  bearer_verifier empty(p);
  auto r = empty.check("Bearer " + sign(rsa, claims()), now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 503u);
  BOOST_TEST(r.error().retry_after == "5");
}

BOOST_AUTO_TEST_CASE(connection_cache_checks_lifetime_and_key_set) {
  const std::string header = "Bearer " + sign(rsa, claims());
  bearer_cache cache;
  BOOST_TEST(verifier->check(header, now, &cache).has_value());
  BOOST_TEST(cache.authorization == header);
  BOOST_TEST(verifier->check(header, now + 100, &cache).has_value());
  auto r = verifier->check(header, now + 600 + 60, &cache);  // expired: refused from the cache too
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.rfind("JWT expired", 0) == 0u);
  // The issuer dropped the key: the cached entry is not used any more.
  const auto other = make_key("RSA", algorithm::rs256, "k9");
  verifier->set_keys(std::make_shared<const jose::key_set>(key_set_of(jwks_json(other))));
  r = verifier->check(header, now, &cache);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.rfind("JWT unknown_key", 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ingest_with_jwt)

namespace {
request post(std::string_view authorization) {
  request req{bhttp::verb::post, "/devicedata/messages", 11};
  if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = "{}";
  req.prepare_payload();
  return req;
}
}  // namespace

BOOST_AUTO_TEST_CASE(jwt_alone) {
  fixture f;
  ingest_options o;
  o.hubs = {"devicedata"};
  eventhub_ingest in(o, {std::make_shared<bearer_authenticator>(f.verifier)});
  BOOST_TEST(in.check_header(post("Bearer " + sign(f.rsa, fixture::claims())), now).has_value());
  auto r = in.check_header(post(make_sas_token("https://x/devicedata", "k", "secret", now + 60)), now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 401u);
  BOOST_TEST(r.error().message.find("not a bearer token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sas_and_jwt_together) {
  fixture f(true);
  ingest_options o;
  o.hubs = {"devicedata"};
  sas_options so;
  so.keys = {{"k", "secret"}};
  eventhub_ingest in(
      o, {std::make_shared<sas_authenticator>(sas_verifier(so)), std::make_shared<bearer_authenticator>(f.verifier)});
  auth_cache cache;
  BOOST_TEST(in.check_header(post("Bearer " + sign(f.rsa, fixture::claims())), now, &cache).has_value());
  BOOST_TEST(
      in.check_header(post(make_sas_token("https://x/devicedata", "k", "secret", now + 60)), now, &cache).has_value());
  auto r = in.check_header(post(make_sas_token("https://x/devicedata", "k", "wrong", now + 60)), now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.rfind("SAS ", 0) == 0u);
  // No credentials: the answer lists both schemes, and the challenge is the bearer one (SAS has none).
  r = in.check_header(post(""), now);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(static_cast<unsigned>(r.error().status) == 401u);
  BOOST_TEST(r.error().message.find("SharedAccessSignature or Bearer") != std::string::npos);
  BOOST_TEST(r.error().www_authenticate == "Bearer realm=\"iomtflow\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(jwks_refresh_schedule)

using clock_t_ = refresh_schedule::clock;

BOOST_AUTO_TEST_CASE(start_periodic_and_rate_limited_requests) {
  refresh_schedule s(1h, 30s, 5min);
  const auto t0 = clock_t_::time_point{} + 1000h;
  BOOST_TEST((s.next() <= t0));  // fetch at once
  s.fetched(t0, true);
  BOOST_TEST((s.next() == t0 + 1h));
  s.request();  // unknown kid 5 s after the fetch: served when the 30 s interval ends
  BOOST_TEST((s.next() == t0 + 30s));
  s.fetched(t0 + 30s, true);
  BOOST_TEST(!s.requested());
  BOOST_TEST((s.next() == t0 + 30s + 1h));
  s.request();  // long after the last fetch: at once
  BOOST_TEST((s.next() <= t0 + 2h));
}

BOOST_AUTO_TEST_CASE(failures_back_off_up_to_the_cap) {
  refresh_schedule s(1h, 30s, 2min);
  const auto t0 = clock_t_::time_point{} + 1000h;
  s.fetched(t0, false);
  BOOST_TEST((s.next() == t0 + 30s));
  s.fetched(t0 + 30s, false);
  BOOST_TEST((s.next() == t0 + 90s));
  s.fetched(t0 + 90s, false);
  BOOST_TEST((s.next() == t0 + 90s + 2min));  // 120 s cap
  s.fetched(t0 + 210s, false);
  BOOST_TEST((s.next() == t0 + 210s + 2min));
  s.fetched(t0 + 330s, true);
  BOOST_TEST(s.failures() == 0);
  BOOST_TEST((s.next() == t0 + 330s + 1h));
}

BOOST_AUTO_TEST_CASE(urls_must_be_https_unless_allowed) {
  BOOST_TEST(check_jwks_url("https://login.example/keys", false, "jwks_uri").empty());
  BOOST_TEST(check_jwks_url("http://login.example/keys", false, "jwks_uri").find("not https") != std::string::npos);
  BOOST_TEST(check_jwks_url("http://127.0.0.1:1/keys", true, "jwks_uri").empty());
  BOOST_TEST(!check_jwks_url("ftp://x", true, "jwks_uri").empty());
}

BOOST_AUTO_TEST_SUITE_END()
