// net/jose: base64url, JWK / JWK Set parsing, JWS sign and verify, and access token validation
// (jwt.hpp): every check in its order, with the answer it gives. Keys are generated per run.
#define BOOST_TEST_MODULE jose
#include "net/jose/jwt.hpp"
#include "unit/net/jose_test_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <vector>

using namespace iomt;
using namespace iomt::test;
using jose::algorithm;
using jose::jwt_errc;

namespace {

constexpr std::int64_t now = 1800000000;  // 2027-01-15T08:00:00Z
constexpr const char* issuer = "https://login.example.org/tenant-1/v2.0";
constexpr const char* audience = "api://iomtflow";

struct fixture {
  jose::signing_key rsa = make_key("RSA", algorithm::rs256, "rsa-1");
  jose::signing_key ec = make_key("P-256", algorithm::es256, "ec-1");
  jose::key_set keys = key_set_of(jwks_json(rsa, ec));
  jose::jwt_policy policy;

  fixture() {
    policy.issuers = {issuer};
    policy.audiences = {audience};
    policy.roles = {"IomtFlow.Send"};
  }

  static boost::json::object claims() {
    boost::json::object c;
    c["iss"] = issuer;
    c["aud"] = audience;
    c["sub"] = "device-gateway-7";
    c["azp"] = "client-42";
    c["iat"] = now - 10;
    c["nbf"] = now - 10;
    c["exp"] = now + 3600;
    c["roles"] = boost::json::array{"IomtFlow.Send"};
    return c;
  }

  boost::system::result<jose::verified_jwt, jose::jwt_error> check(const std::string& token, std::int64_t at = now) {
    return jose::validate_jwt(token, keys, policy, at);
  }

  jwt_errc code(const std::string& token, std::int64_t at = now) {
    auto r = check(token, at);
    BOOST_REQUIRE_MESSAGE(!r, "the token was accepted");
    BOOST_TEST_MESSAGE(std::string(jose::to_string(r.error().code)) << ": " << r.error().message);
    BOOST_TEST(r.error().message.find(token) == std::string::npos);  // never echoes the token
    return r.error().code;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(base64url)

BOOST_AUTO_TEST_CASE(round_trip_and_strictness) {
  const std::vector<std::string> samples{"",     "f",     "fo",     "foo",
                                         "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)};
  for (const auto& s : samples) {
    const auto enc = jose::base64url_encode(s);
    BOOST_TEST(enc.find('=') == std::string::npos);
    BOOST_TEST(jose::base64url_decode(enc).value() == s);
  }
  BOOST_TEST(jose::base64url_encode("\xfb\xff") == "-_8");
  BOOST_TEST(!jose::base64url_decode("Zm9v=="));  // padding
  BOOST_TEST(!jose::base64url_decode("+/8"));     // standard alphabet
  BOOST_TEST(!jose::base64url_decode("Zm9vY"));   // 4k+1
  BOOST_TEST(!jose::base64url_decode("Zh"));      // non-zero bits after the last byte ("Zg" is 'f')
  BOOST_TEST(jose::base64url_decode("Zg").value() == "f");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(jwk)

BOOST_AUTO_TEST_CASE(rfc7638_thumbprint_example) {
  // RFC 7638 §3.1.
  const auto v = boost::json::parse(
      R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  auto k = jose::parse_jwk(v.as_object());
  BOOST_TEST_REQUIRE(k.has_value());
  BOOST_TEST(k->bits == 2048);
  BOOST_TEST(jose::thumbprint(k->key.get()) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

BOOST_AUTO_TEST_CASE(unusable_keys_are_skipped_with_their_reason) {
  const auto rsa = make_key("RSA", algorithm::rs256, "good");
  auto good = jose::public_jwk(rsa);
  boost::json::array keys{good};
  keys.push_back(boost::json::object{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}});
  auto enc = good;
  enc["kid"] = "enc";
  enc["use"] = "enc";
  keys.push_back(enc);
  auto short_rsa = good;
  short_rsa["kid"] = "short";
  short_rsa["n"] = jose::base64url_encode(std::string(128, '\xC3'));  // 1024 bits
  keys.push_back(short_rsa);
  const auto ec = make_key("P-256", algorithm::es256, "ec");
  auto off_curve = jose::public_jwk(ec);
  off_curve["kid"] = "off-curve";
  off_curve["y"] = jose::base64url_encode(std::string(32, '\x01'));
  keys.push_back(off_curve);
  auto hs = good;
  hs["kid"] = "hs";
  hs["alg"] = "HS256";
  keys.push_back(hs);
  keys.push_back("not an object");
  auto set = jose::parse_jwks(boost::json::serialize(boost::json::object{{"keys", keys}}));
  BOOST_TEST_REQUIRE(set.has_value());
  BOOST_TEST(set->keys.size() == 1u);
  BOOST_TEST(set->keys[0].kid == "good");
  BOOST_TEST_REQUIRE(set->skipped.size() == 6u);
  for (const auto& s : set->skipped) BOOST_TEST_MESSAGE(s);
  BOOST_TEST(set->skipped[0].find("'oct' is not used for signatures") != std::string::npos);
  BOOST_TEST(set->skipped[1].find("\"use\" is 'enc'") != std::string::npos);
  BOOST_TEST(set->skipped[2].find("1024 bits") != std::string::npos);
  BOOST_TEST(set->skipped[3].find("valid EC public key") != std::string::npos);
  BOOST_TEST(set->skipped[4].find("'HS256' is not accepted") != std::string::npos);
  BOOST_TEST(!jose::parse_jwks("{}"));
  BOOST_TEST(!jose::parse_jwks("not json"));
}

BOOST_AUTO_TEST_CASE(signing_keys_from_pem) {
  const auto rsa = make_key("RSA", algorithm::rs384, "");
  auto k = jose::load_signing_key(private_pem(rsa));
  BOOST_TEST_REQUIRE(k.has_value());
  BOOST_TEST((k->alg == algorithm::rs384));  // SMART default for RSA
  BOOST_TEST(k->kid == jose::thumbprint(rsa.key.get()));
  const auto p384 = make_key("P-384", algorithm::es384, "");
  auto e = jose::load_signing_key(private_pem(p384), std::nullopt, "my-kid");
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST((e->alg == algorithm::es384));
  BOOST_TEST(e->kid == "my-kid");
  auto wrong = jose::load_signing_key(private_pem(p384), algorithm::rs384);
  BOOST_TEST_REQUIRE(!wrong);
  BOOST_TEST(wrong.error().find("signs ES384, not RS384") != std::string::npos);
  BOOST_TEST(!jose::load_signing_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  BOOST_TEST(jose::load_signing_key_file("/nonexistent/key.pem").error().find("cannot read") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rs384_and_es384_sign_and_verify) {
  for (auto [type, alg] : {std::pair{"RSA", algorithm::rs384}, std::pair{"P-384", algorithm::es384}}) {
    const auto key = make_key(type, alg, "k");
    const auto token = sign(key, {{"iss", "me"}});
    auto jws = jose::parse_compact(token);
    BOOST_TEST_REQUIRE(jws.has_value());
    BOOST_TEST(jws->alg == jose::to_string(alg));
    BOOST_TEST(jws->kid == "k");
    if (alg == algorithm::es384) BOOST_TEST(jws->signature.size() == 96u);  // R || S, 48 bytes each
    const auto set = key_set_of(jwks_json(key));
    BOOST_TEST(jose::verify_signature(alg, set.keys[0], jws->signing_input, jws->signature));
    auto bad = jws->signature;
    bad[5] = static_cast<char>(bad[5] ^ 1);
    BOOST_TEST(!jose::verify_signature(alg, set.keys[0], jws->signing_input, bad));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(jwt_validation, fixture)

BOOST_AUTO_TEST_CASE(valid_rs256_and_es256_tokens) {
  for (const auto* key : {&rsa, &ec}) {
    auto r = check(sign(*key, claims()));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
    BOOST_TEST(r->issuer == issuer);
    BOOST_TEST(r->subject == "device-gateway-7");
    BOOST_TEST(r->client == "client-42");
    BOOST_TEST(r->kid == key->kid);
    BOOST_TEST(r->expires == now + 3600);
  }
}

BOOST_AUTO_TEST_CASE(bad_signature) {
  auto token = sign(rsa, claims());
  token[token.size() - 10] = token[token.size() - 10] == 'A' ? 'B' : 'A';
  BOOST_TEST((code(token) == jwt_errc::bad_signature));
  // The payload changed after signing (a role added).
  auto other = claims();
  other["roles"] = boost::json::array{"IomtFlow.Send", "Admin"};
  const auto original = sign(rsa, claims());
  const auto forged_payload = jose::base64url_encode(boost::json::serialize(other));
  const auto dot1 = original.find('.'), dot2 = original.rfind('.');
  BOOST_TEST((code(original.substr(0, dot1 + 1) + forged_payload + original.substr(dot2)) == jwt_errc::bad_signature));
  // Signed by a key the issuer does not have, under a kid it has.
  const auto stranger = make_key("RSA", algorithm::rs256, "rsa-1");
  BOOST_TEST((code(sign(stranger, claims())) == jwt_errc::bad_signature));
}

BOOST_AUTO_TEST_CASE(unknown_kid_names_the_key) {
  const auto rotated = make_key("RSA", algorithm::rs256, "rsa-2");
  auto r = check(sign(rotated, claims()));
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST((r.error().code == jwt_errc::unknown_key));
  BOOST_TEST(r.error().kid == "rsa-2");
  // After the key set is refreshed with the new key, the same token passes.
  keys = key_set_of(jwks_json(rsa, rotated));
  BOOST_TEST(check(sign(rotated, claims())).has_value());
}

BOOST_AUTO_TEST_CASE(wrong_issuer_and_audience) {
  auto c = claims();
  c["iss"] = "https://evil.example.com/";
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::wrong_issuer));
  c = claims();
  c["aud"] = "https://eventhubs.azure.net";
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::wrong_audience));
  c["aud"] = boost::json::array{"other", audience};  // an array containing ours is fine
  BOOST_TEST(check(sign(rsa, c)).has_value());
  c.erase("aud");
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::missing_claim));
  policy.issuers.push_back("https://sts.windows.net/tenant-1/");
  c = claims();
  c["iss"] = "https://sts.windows.net/tenant-1/";
  BOOST_TEST(check(sign(rsa, c)).has_value());
}

BOOST_AUTO_TEST_CASE(expiry_and_not_before_with_skew) {
  const auto token = sign(rsa, claims());
  BOOST_TEST(check(token, now + 3600 + 59).has_value());  // within the 60 s skew
  BOOST_TEST((code(token, now + 3600 + 60) == jwt_errc::expired));
  BOOST_TEST(check(token, now - 10 - 60).has_value());
  BOOST_TEST((code(token, now - 10 - 61) == jwt_errc::not_yet_valid));
  auto c = claims();
  c.erase("exp");
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::missing_claim));
  c = claims();
  c["exp"] = "tomorrow";
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::missing_claim));
  auto r = check(token, now + 7200);
  BOOST_TEST(r.error().message.find("expired at 2027-01-15T09:00:00Z") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(alg_none_and_hmac_with_the_public_key) {
  boost::json::object none{{"alg", "none"}, {"typ", "JWT"}, {"kid", "rsa-1"}};
  auto r = check(hand_made(none, claims()));
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST((r.error().code == jwt_errc::algorithm_not_allowed));
  BOOST_TEST(r.error().message.find("unsigned tokens are never accepted") != std::string::npos);
  // The classic key confusion: HS256 with the issuer's public key (PEM text, or the JWK's n) as
  // the HMAC secret.
  boost::json::object hs{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "rsa-1"}};
  for (const std::string& secret : {public_pem(rsa), std::string(jose::public_jwk(rsa).at("n").as_string())}) {
    r = check(hand_made(hs, claims(), secret, true));
    BOOST_TEST_REQUIRE(!r);
    BOOST_TEST((r.error().code == jwt_errc::algorithm_not_allowed));
    BOOST_TEST(r.error().message.find("HMAC-signed tokens are never accepted") != std::string::npos);
  }
  // An algorithm we implement but the policy does not accept.
  const auto rs384 = make_key("RSA", algorithm::rs384, "rsa-384");
  keys = key_set_of(jwks_json(rsa, ec, rs384));
  BOOST_TEST((code(sign(rs384, claims())) == jwt_errc::algorithm_not_allowed));
  policy.algorithms.push_back(algorithm::rs384);
  BOOST_TEST(check(sign(rs384, claims())).has_value());
}

BOOST_AUTO_TEST_CASE(key_must_suit_the_algorithm) {
  // ES256 header naming the RSA key: refused before any signature check.
  auto forged = ec;
  forged.kid = "rsa-1";
  BOOST_TEST((code(sign(forged, claims())) == jwt_errc::key_mismatch));
}

BOOST_AUTO_TEST_CASE(required_role_or_scope) {
  auto c = claims();
  c.erase("roles");
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::missing_role));
  c["roles"] = boost::json::array{"IomtFlow.Read"};
  auto r = check(sign(rsa, c));
  BOOST_TEST(r.error().message.find("roles 'IomtFlow.Send'") != std::string::npos);
  policy.scopes = {"Telemetry.Send"};
  c["scp"] = "User.Read Telemetry.Send";  // Entra ID delegated tokens
  BOOST_TEST(check(sign(rsa, c)).has_value());
  c.erase("scp");
  c["scope"] = "Telemetry.Send";  // RFC 9068
  BOOST_TEST(check(sign(rsa, c)).has_value());
  c["scope"] = "Telemetry.SendX";
  BOOST_TEST((code(sign(rsa, c)) == jwt_errc::missing_role));
}

BOOST_AUTO_TEST_CASE(malformed_tokens) {
  const auto token = sign(rsa, claims());
  BOOST_TEST((code("abc") == jwt_errc::malformed));
  BOOST_TEST((code(token + ".x") == jwt_errc::malformed));
  BOOST_TEST((code("e30.e30") == jwt_errc::malformed));
  BOOST_TEST((code("bm90IGpzb24.e30.AA") == jwt_errc::malformed));  // header "not json"
  BOOST_TEST((code(token + "=") == jwt_errc::malformed));           // padding in the signature
  policy.max_token_bytes = token.size() - 1;
  BOOST_TEST((code(token) == jwt_errc::malformed));
  policy.max_token_bytes = 8192;
  BOOST_TEST((code(sign(rsa, claims(), {{"crit", boost::json::array{"exp"}}})) == jwt_errc::malformed));
  boost::json::object no_alg{{"typ", "JWT"}};
  BOOST_TEST((code(hand_made(no_alg, claims())) == jwt_errc::algorithm_not_allowed));
}

BOOST_AUTO_TEST_CASE(no_kid_uses_the_one_suitable_key) {
  auto anon = rsa;
  anon.kid.clear();
  BOOST_TEST(check(sign(anon, claims())).has_value());
  const auto rsa2 = make_key("RSA", algorithm::rs256, "rsa-2");
  keys = key_set_of(jwks_json(rsa, rsa2));
  BOOST_TEST((code(sign(anon, claims())) == jwt_errc::unknown_key));  // ambiguous
}

BOOST_AUTO_TEST_CASE(claim_values_are_sanitized_in_messages) {
  auto c = claims();
  c["iss"] = std::string("evil\"\r\n") + std::string(200, 'x');
  auto r = check(sign(rsa, c));
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find('\n') == std::string::npos);
  BOOST_TEST(r.error().message.find('"') == std::string::npos);
  BOOST_TEST(r.error().message.size() < 160u);
}

BOOST_AUTO_TEST_SUITE_END()
