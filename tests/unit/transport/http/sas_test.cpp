// SAS tokens (transport/http/sas.hpp): the Azure Event Hubs / Service Bus scheme.
#define BOOST_TEST_MODULE transport_http_sas
#include <boost/test/unit_test.hpp>

#include "transport/http/sas.hpp"

#include <limits>
#include <ostream>

namespace iomt::transport::http {
std::ostream& operator<<(std::ostream& os, sas_errc e) { return os << to_string(e); }
}  // namespace iomt::transport::http

using namespace iomt::transport::http;

namespace {

constexpr std::string_view uri = "https://ns.servicebus.windows.net/devicedata";
constexpr std::string_view key = "SharedAccessKeyValue=";
constexpr std::int64_t expiry = 1700000000;

// Known answer, computed independently with Python 3:
//   import hmac, hashlib, base64, urllib.parse
//   enc = urllib.parse.quote_plus("https://ns.servicebus.windows.net/devicedata")
//   sig = base64.b64encode(hmac.new(b"SharedAccessKeyValue=", (enc + "\n1700000000").encode(),
//                                   hashlib.sha256).digest()).decode()
//   # sig == "S0MqPnwCwRnS2k5b2kEV3Jd57BvQc+t6LeNssz8VGD0="
//   "SharedAccessSignature sr={}&sig={}&se=1700000000&skn=RootManageSharedAccessKey".format(
//       enc, urllib.parse.quote_plus(sig))
constexpr std::string_view known_token =
    "SharedAccessSignature sr=https%3A%2F%2Fns.servicebus.windows.net%2Fdevicedata"
    "&sig=S0MqPnwCwRnS2k5b2kEV3Jd57BvQc%2Bt6LeNssz8VGD0%3D&se=1700000000&skn=RootManageSharedAccessKey";

sas_verifier verifier(std::vector<std::string> hosts = {}) {
  return sas_verifier{
      sas_options{{{"RootManageSharedAccessKey", std::string(key)}, {"device", "other-key"}}, std::move(hosts)}};
}

sas_errc code_of(const boost::system::result<sas_token, sas_error>& r) {
  BOOST_REQUIRE(!r);
  BOOST_TEST_MESSAGE(to_string(r.error().code) << ": " << r.error().message);
  return r.error().code;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hmac_sha256_rfc4231_case_2) {
  std::string hex;
  for (unsigned char c : hmac_sha256("Jefe", "what do ya want for nothing?")) {
    static constexpr char digits[] = "0123456789abcdef";
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  BOOST_TEST(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(base64_round_trip_and_rejects) {
  BOOST_TEST(base64_encode("") == "");
  BOOST_TEST(base64_encode("f") == "Zg==");
  BOOST_TEST(base64_encode("fo") == "Zm8=");
  BOOST_TEST(base64_encode("foo") == "Zm9v");
  BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
  BOOST_TEST(*base64_decode("Zm9vYmE=") == "fooba");
  BOOST_TEST(*base64_decode("Zm9vYmE") == "fooba");  // padding optional
  BOOST_TEST(!base64_decode("Zm9v!mE="));
  BOOST_TEST(!base64_decode("Z"));
  BOOST_TEST(!base64_decode("Zg=a"));
}

BOOST_AUTO_TEST_CASE(url_encode_decode) {
  BOOST_TEST(url_encode("https://a.b/c d~_-.") == "https%3A%2F%2Fa.b%2Fc%20d~_-.");
  BOOST_TEST(url_encode("a:/", true) == "a%3a%2f");
  BOOST_TEST(*url_decode("a%3A%2fb+c") == "a:/b+c");  // '+' stays (unencoded base64)
  BOOST_TEST(!url_decode("a%3"));
  BOOST_TEST(!url_decode("a%zz"));
}

BOOST_AUTO_TEST_CASE(make_sas_token_matches_the_python_known_answer) {
  BOOST_TEST(make_sas_token(uri, "RootManageSharedAccessKey", key, expiry) == known_token);
}

BOOST_AUTO_TEST_CASE(known_token_verifies) {
  auto r = verifier().verify(known_token, "devicedata", expiry - 1);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->resource == uri);
  BOOST_TEST(r->key_name == "RootManageSharedAccessKey");
  BOOST_TEST(r->expiry == expiry);
}

BOOST_AUTO_TEST_CASE(fields_in_any_order_and_unknown_fields_ignored) {
  const std::string t =
      "SharedAccessSignature skn=RootManageSharedAccessKey&se=1700000000&foo=bar"
      "&sig=S0MqPnwCwRnS2k5b2kEV3Jd57BvQc%2Bt6LeNssz8VGD0%3D&sr=https%3A%2F%2Fns.servicebus.windows.net%2Fdevicedata";
  BOOST_TEST(bool(verifier().verify(t, "devicedata", 0)));
  BOOST_TEST(bool(verifier().verify("sharedaccesssignature " + t.substr(22), "devicedata", 0)));
}

BOOST_AUTO_TEST_CASE(lower_case_hex_generator_is_accepted) {
  // A generator that signs url_encode with lower-case hex (.NET HttpUtility.UrlEncode style) and
  // puts that text in the token. Python: enc = "https%3a%2f%2fns.servicebus.windows.net%2fdevicedata",
  // sig = "17NwPx+J80UXh4U3FteqD2vUUtu8/Pz2ZBEr6P5eB5g=" (same key and expiry as above).
  const std::string t =
      "SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fdevicedata"
      "&sig=17NwPx%2BJ80UXh4U3FteqD2vUUtu8%2FPz2ZBEr6P5eB5g%3D&se=1700000000&skn=RootManageSharedAccessKey";
  BOOST_TEST(bool(verifier().verify(t, "devicedata", 0)));
  // The same signature with an unencoded '+' and '/' in sig still verifies.
  const std::string raw_sig =
      "SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fdevicedata"
      "&sig=17NwPx+J80UXh4U3FteqD2vUUtu8/Pz2ZBEr6P5eB5g=&se=1700000000&skn=RootManageSharedAccessKey";
  BOOST_TEST(bool(verifier().verify(raw_sig, "devicedata", 0)));
}

BOOST_AUTO_TEST_CASE(errors_name_what_is_wrong) {
  auto v = verifier();
  BOOST_TEST(code_of(v.verify("", "devicedata", 0)) == sas_errc::missing);
  BOOST_TEST(code_of(v.verify("Bearer abc", "devicedata", 0)) == sas_errc::missing);
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=a&sig=b&se=1", "devicedata", 0)) == sas_errc::malformed);
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=a&sig=b&se=x&skn=k", "devicedata", 0)) == sas_errc::malformed);
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=a&sr=a&sig=b&se=1&skn=k", "d", 0)) == sas_errc::malformed);
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=%zz&sig=b&se=1&skn=k", "d", 0)) == sas_errc::malformed);
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=&sig=b&se=1&skn=k", "d", 0)) == sas_errc::malformed);

  // Unknown key name.
  BOOST_TEST(code_of(v.verify(make_sas_token(uri, "nobody", key, expiry), "devicedata", 0)) == sas_errc::unknown_key);
  // Wrong key.
  BOOST_TEST(code_of(v.verify(make_sas_token(uri, "RootManageSharedAccessKey", "wrong", expiry), "devicedata", 0)) ==
             sas_errc::bad_signature);
  // Tampered expiry (signature no longer matches).
  std::string tampered(known_token);
  tampered.replace(tampered.find("se=1700000000"), 13, "se=1800000000");
  BOOST_TEST(code_of(v.verify(tampered, "devicedata", 0)) == sas_errc::bad_signature);
  // Garbage signature.
  BOOST_TEST(code_of(v.verify("SharedAccessSignature sr=a&sig=!!&se=1&skn=device", "a", 0)) == sas_errc::bad_signature);

  // Expired: se == now is expired, se == now + 1 is not.
  BOOST_TEST(code_of(v.verify(known_token, "devicedata", expiry)) == sas_errc::expired);
  BOOST_TEST(bool(v.verify(known_token, "devicedata", expiry - 1)));

  // Wrong resource.
  BOOST_TEST(code_of(v.verify(known_token, "otherhub", 0)) == sas_errc::wrong_resource);
  BOOST_TEST(code_of(v.verify(known_token, "devicedata2", 0)) == sas_errc::wrong_resource);
}

BOOST_AUTO_TEST_CASE(resource_prefix_rules) {
  auto v = verifier();
  auto ok = [&](std::string_view sr, std::string_view entity) {
    return bool(v.verify(make_sas_token(sr, "device", "other-key", expiry), entity, 0));
  };
  // Hub-level token covers the hub, its partitions and publishers; case-insensitive; any scheme.
  BOOST_TEST(ok("https://ns.servicebus.windows.net/devicedata", "devicedata"));
  BOOST_TEST(ok("https://ns.servicebus.windows.net/DeviceData/", "devicedata/partitions/1"));
  BOOST_TEST(ok("sb://ns.servicebus.windows.net/devicedata", "devicedata/publishers/dev-01"));
  BOOST_TEST(ok("ns.servicebus.windows.net/devicedata", "devicedata"));
  BOOST_TEST(ok("http://localhost:8080/devicedata", "devicedata"));
  // Namespace-level token covers every hub.
  BOOST_TEST(ok("https://ns.servicebus.windows.net", "anyhub/publishers/x"));
  BOOST_TEST(ok("ns.servicebus.windows.net", "anyhub"));
  // Publisher-level token covers only that publisher.
  BOOST_TEST(ok("https://ns.servicebus.windows.net/devicedata/publishers/dev-01", "devicedata/publishers/dev-01"));
  BOOST_TEST(!ok("https://ns.servicebus.windows.net/devicedata/publishers/dev-01", "devicedata/publishers/dev-02"));
  BOOST_TEST(!ok("https://ns.servicebus.windows.net/devicedata/publishers/dev-01", "devicedata"));
  // Segment boundary.
  BOOST_TEST(!ok("https://ns.servicebus.windows.net/device", "devicedata"));
}

BOOST_AUTO_TEST_CASE(host_check_when_hosts_are_configured) {
  auto v = verifier({"ns.servicebus.windows.net", "localhost"});
  auto check = [&](std::string_view sr) {
    return bool(v.verify(make_sas_token(sr, "device", "other-key", expiry), "devicedata", 0));
  };
  BOOST_TEST(check("https://NS.servicebus.windows.net/devicedata"));
  BOOST_TEST(check("http://localhost:8080/devicedata"));
  BOOST_TEST(!check("https://evil.servicebus.windows.net/devicedata"));
}

BOOST_AUTO_TEST_CASE(split_verification_for_the_connection_cache) {
  auto v = verifier();
  auto token = parse_sas_token(known_token);
  BOOST_REQUIRE(token);
  BOOST_TEST(bool(v.verify_signature(*token)));
  BOOST_TEST(bool(v.check_claims(*token, "devicedata", 0)));
  BOOST_TEST(!v.check_claims(*token, "devicedata", expiry + 5));
  BOOST_TEST(v.check_claims(*token, "devicedata", expiry + 5).error().message.find("5 s in the past") !=
             std::string::npos);
}

// Issue 15: the checks a probe of the ingest found missing.
BOOST_AUTO_TEST_CASE(lifetime_is_bounded) {
  auto v = sas_verifier{sas_options{{{"device", "other-key"}}, {}, 3600}};
  auto verify = [&](std::int64_t se) {
    return v.verify(make_sas_token("https://ns.servicebus.windows.net/devicedata", "device", "other-key", se),
                    "devicedata", 1'000'000);
  };
  BOOST_TEST(bool(verify(1'000'000 + 3600)));
  BOOST_TEST(code_of(verify(1'000'000 + 3601)) == sas_errc::too_long);
  BOOST_TEST(code_of(verify(253402300799)) == sas_errc::too_long);
  BOOST_TEST(code_of(verify(std::numeric_limits<std::int64_t>::max())) == sas_errc::too_long);
  BOOST_TEST(verify(253402300799).error().message.find("max_token_lifetime") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(resource_needs_a_host_and_a_known_scheme) {
  auto v = verifier();
  auto code = [&](std::string_view sr) {
    auto r = v.verify(make_sas_token(sr, "device", "other-key", expiry), "devicedata", 0);
    return r ? sas_errc::missing : r.error().code;  // `missing` stands for "accepted" here
  };
  BOOST_TEST(code("/") == sas_errc::wrong_resource);
  BOOST_TEST(code("https:///devicedata") == sas_errc::wrong_resource);
  BOOST_TEST(code("ftp://ns.servicebus.windows.net/devicedata") == sas_errc::wrong_resource);
  BOOST_TEST(code("amqps://ns.servicebus.windows.net/devicedata") == sas_errc::missing);
}

BOOST_AUTO_TEST_CASE(hosts_may_fix_the_scheme) {
  auto v = verifier({"https://ingest.example.org"});
  auto ok = [&](std::string_view sr) {
    return bool(v.verify(make_sas_token(sr, "device", "other-key", expiry), "devicedata", 0));
  };
  BOOST_TEST(ok("https://ingest.example.org/devicedata"));
  BOOST_TEST(ok("https://INGEST.example.org:443/devicedata"));
  BOOST_TEST(!ok("http://ingest.example.org/devicedata"));
  BOOST_TEST(!ok("ingest.example.org/devicedata"));  // no scheme: not the one required
  BOOST_TEST(!ok("https://evil.example.com/devicedata"));
  BOOST_TEST(!ok("x"));
}

BOOST_AUTO_TEST_CASE(publisher_ids_compare_exactly) {
  auto v = verifier();
  auto ok = [&](std::string_view sr, std::string_view entity) {
    return bool(v.verify(make_sas_token(sr, "device", "other-key", expiry), entity, 0));
  };
  // Hub and literal segments: case-insensitive (Event Hubs entity paths); ids: exact.
  BOOST_TEST(ok("https://ns/DeviceData/Publishers/dev-01", "devicedata/publishers/dev-01"));
  BOOST_TEST(!ok("https://ns/devicedata/publishers/dev-01", "devicedata/publishers/DEV-01"));
  // (An entity path never has more segments: a publisher id that decodes to something with a '/'
  // is refused by the route, eventhub_request_test publisher_ids_with_a_slash_are_refused.)
}

BOOST_AUTO_TEST_CASE(unknown_key_and_wrong_key_read_the_same) {
  auto v = verifier();
  auto unknown = v.verify(make_sas_token(uri, "nobody", key, expiry), "devicedata", 0);
  auto wrong = v.verify(make_sas_token(uri, "RootManageSharedAccessKey", "wrong", expiry), "devicedata", 0);
  BOOST_REQUIRE(!unknown);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST(unknown.error().message == wrong.error().message);
  BOOST_TEST(std::string(public_reason(unknown.error().code)) == public_reason(wrong.error().code));
  BOOST_TEST(unknown.error().detail.find("nobody") != std::string::npos);  // the log may say which
  BOOST_TEST(wrong.error().message.find(key) == std::string::npos);
}
