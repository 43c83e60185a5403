#include "net/jose/jwk.hpp"

#include "net/jose/base64url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

namespace iomt::net::jose {

namespace {

// RAII for the OpenSSL objects used below.
struct bn_free {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct bld_free {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct param_free {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct ctx_free {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;

// A failure for any result<T, std::string>: spelled out, because a std::string converts to some
// T as well (aggregates whose first member is a string).
struct failure {
  std::string why;
  template <class T>
  operator boost::system::result<T, std::string>() && {  // NOLINT: implicit by design
    return boost::system::result<T, std::string>(boost::system::in_place_error, std::move(why));
  }
};
failure fail(std::string why) { return failure{std::move(why)}; }

pkey adopt(EVP_PKEY* k) {
  return pkey(k, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

bn_ptr to_bn(const std::string& bytes) {
  return bn_ptr(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

std::string bn_bytes(const BIGNUM* b, int pad = 0) {
  const int n = pad > 0 ? pad : BN_num_bytes(b);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (pad > 0)
    BN_bn2binpad(b, reinterpret_cast<unsigned char*>(out.data()), pad);
  else
    BN_bn2bin(b, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string_view str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// A required base64url member of a JWK, decoded.
boost::system::result<std::string, std::string> member(const boost::json::object& jwk, std::string_view name) {
  const auto* v = jwk.if_contains(name);
  if (!v || !v->is_string() || v->get_string().empty()) return fail("member '" + std::string(name) + "' is missing");
  auto bytes = base64url_decode(v->get_string());
  if (!bytes) return fail("member '" + std::string(name) + "' is not base64url");
  return boost::system::result<std::string, std::string>(boost::system::in_place_value, std::move(*bytes));
}

// The key from OSSL parameters, checked (EVP_PKEY_public_check: point on the curve, sane RSA).
boost::system::result<pkey, std::string> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, param_free> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, ctx_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !raw)
    return fail(std::string("the key parameters do not form a valid ") + type + " public key");
  pkey key = adopt(raw);
  std::unique_ptr<EVP_PKEY_CTX, ctx_free> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return fail(std::string("the key parameters do not form a valid ") + type + " public key");
  return key;
}

// OpenSSL group name <-> JOSE curve name, and the field size in bytes.
struct curve_info {
  const char* jose;
  const char* openssl;
  int bytes;
};
constexpr curve_info curves[] = {{"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}};

const curve_info* curve_by_jose(std::string_view name) {
  for (const auto& c : curves)
    if (name == c.jose) return &c;
  return nullptr;
}

const curve_info* curve_of(EVP_PKEY* key) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return nullptr;
  const std::string_view n(name, len);
  for (const auto& c : curves)
    if (n == c.openssl || n == c.jose) return &c;
  return nullptr;
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + "'";
}

}  // namespace

std::optional<algorithm> parse_algorithm(std::string_view name) noexcept {
  if (name == "RS256") return algorithm::rs256;
  if (name == "RS384") return algorithm::rs384;
  if (name == "ES256") return algorithm::es256;
  if (name == "ES384") return algorithm::es384;
  return std::nullopt;
}

std::string_view to_string(algorithm a) noexcept {
  switch (a) {
    case algorithm::rs256:
      return "RS256";
    case algorithm::rs384:
      return "RS384";
    case algorithm::es256:
      return "ES256";
    case algorithm::es384:
      return "ES384";
  }
  return "RS256";
}

bool public_key::suits(algorithm a) const noexcept {
  if (!alg.empty() && alg != to_string(a)) return false;
  switch (a) {
    case algorithm::rs256:
    case algorithm::rs384:
      return kty == "RSA";
    case algorithm::es256:
      return kty == "EC" && crv == "P-256";
    case algorithm::es384:
      return kty == "EC" && crv == "P-384";
  }
  return false;
}

const public_key* key_set::find(std::string_view kid) const noexcept {
  for (const auto& k : keys)
    if (k.kid == kid) return &k;
  return nullptr;
}

std::string key_set::kids() const {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + quoted(k.kid);
  return out;
}

boost::system::result<public_key, std::string> parse_jwk(const boost::json::object& jwk) {
  public_key k;
  k.kid = std::string(str(jwk, "kid"));
  k.kty = std::string(str(jwk, "kty"));
  k.alg = std::string(str(jwk, "alg"));
  const std::string_view use = str(jwk, "use");
  if (!use.empty() && use != "sig") return fail("\"use\" is " + quoted(use) + ", not \"sig\"");
  if (const auto* ops = jwk.if_contains("key_ops"); ops && ops->is_array()) {
    bool verify = false;
    for (const auto& op : ops->get_array()) verify = verify || (op.is_string() && op.get_string() == "verify");
    if (!verify) return fail(std::string("\"key_ops\" does not include \"verify\""));
  }
  if (!k.alg.empty() && !parse_algorithm(k.alg)) return fail("\"alg\" " + quoted(k.alg) + " is not accepted");
  std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
  if (!bld) return fail(std::string("out of memory"));
  if (k.kty == "RSA") {
    auto n = member(jwk, "n");
    if (!n) return fail(n.error());
    auto e = member(jwk, "e");
    if (!e) return fail(e.error());
    bn_ptr bn_n = to_bn(*n), bn_e = to_bn(*e);
    if (!bn_n || !bn_e) return fail(std::string("out of memory"));
    if (BN_num_bits(bn_n.get()) < 2048)
      return fail("RSA key of " + std::to_string(BN_num_bits(bn_n.get())) + " bits: at least 2048 are required");
    if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return fail(std::string("RSA exponent \"e\" is not valid"));
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
    auto key = from_params("RSA", bld.get());
    if (!key) return fail(key.error());
    k.bits = BN_num_bits(bn_n.get());
    k.key = std::move(*key);
    return k;
  }
  if (k.kty == "EC") {
    k.crv = std::string(str(jwk, "crv"));
    const curve_info* c = curve_by_jose(k.crv);
    if (!c) return fail("curve " + quoted(k.crv) + " is not accepted (P-256 or P-384)");
    auto x = member(jwk, "x");
    if (!x) return fail(x.error());
    auto y = member(jwk, "y");
    if (!y) return fail(y.error());
    if (x->size() != static_cast<std::size_t>(c->bytes) || y->size() != static_cast<std::size_t>(c->bytes))
      return fail("\"x\" and \"y\" of a " + k.crv + " key must be " + std::to_string(c->bytes) + " bytes each");
    std::string point = "\x04" + *x + *y;  // uncompressed point (SEC 1 §2.3.3)
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, c->openssl, 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    auto key = from_params("EC", bld.get());
    if (!key) return fail(key.error());
    k.bits = c->bytes * 8;
    k.key = std::move(*key);
    return k;
  }
  if (k.kty.empty()) return fail(std::string("\"kty\" is missing"));
  return fail("key type " + quoted(k.kty) + " is not used for signatures (RSA or EC)");
}

boost::system::result<key_set, std::string> parse_jwks(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(json, ec);
  if (ec) return fail("the key set is not JSON: " + ec.message());
  const auto* o = v.if_object();
  const auto* keys = o ? o->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array()) return fail(std::string("the key set has no \"keys\" array (RFC 7517 §5)"));
  key_set set;
  std::size_t i = 0;
  for (const auto& entry : keys->get_array()) {
    const std::string where = "key [" + std::to_string(i++) + "]";
    if (!entry.is_object()) {
      set.skipped.push_back(where + ": not a JSON object");
      continue;
    }
    auto k = parse_jwk(entry.get_object());
    if (!k) {
      const std::string_view kid = str(entry.get_object(), "kid");
      set.skipped.push_back(where + (kid.empty() ? "" : " kid " + quoted(kid)) + ": " + k.error());
      continue;
    }
    set.keys.push_back(std::move(*k));
  }
  return set;
}

std::string thumbprint(EVP_PKEY* key) {
  std::string canonical;  // RFC 7638 §3.2: required members only, lexicographic order, no spaces
  if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      BN_free(n);
      BN_free(e);
      return {};
    }
    canonical =
        R"({"e":")" + base64url_encode(bn_bytes(e)) + R"(","kty":"RSA","n":")" + base64url_encode(bn_bytes(n)) + "\"}";
    BN_free(n);
    BN_free(e);
  } else if (EVP_PKEY_is_a(key, "EC")) {
    const curve_info* c = curve_of(key);
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    if (!c || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
      BN_free(x);
      BN_free(y);
      return {};
    }
    canonical = std::string(R"({"crv":")") + c->jose + R"(","kty":"EC","x":")" +
                base64url_encode(bn_bytes(x, c->bytes)) + R"(","y":")" + base64url_encode(bn_bytes(y, c->bytes)) +
                "\"}";
    BN_free(x);
    BN_free(y);
  } else {
    return {};
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

boost::json::object public_jwk(const signing_key& key) {
  boost::json::object jwk;
  EVP_PKEY* k = key.key.get();
  if (EVP_PKEY_is_a(k, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
    jwk["kty"] = "RSA";
    if (n && e) {
      jwk["n"] = base64url_encode(bn_bytes(n));
      jwk["e"] = base64url_encode(bn_bytes(e));
    }
    BN_free(n);
    BN_free(e);
  } else if (const curve_info* c = curve_of(k)) {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    jwk["kty"] = "EC";
    jwk["crv"] = c->jose;
    if (x && y) {
      jwk["x"] = base64url_encode(bn_bytes(x, c->bytes));
      jwk["y"] = base64url_encode(bn_bytes(y, c->bytes));
    }
    BN_free(x);
    BN_free(y);
  }
  jwk["kid"] = key.kid;
  jwk["alg"] = to_string(key.alg);
  jwk["use"] = "sig";
  return jwk;
}

boost::system::result<signing_key, std::string> load_signing_key(std::string_view pem, std::optional<algorithm> alg,
                                                                 std::string kid) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail(std::string("out of memory"));
  // A pass phrase callback that never prompts: an encrypted key fails instead of blocking on a tty.
  auto no_pass_phrase = [](char*, int, int, void*) -> int { return 0; };
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass_phrase, nullptr);
  if (!raw)
    return fail(std::string(
        "not a PEM private key (PKCS#8 \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\", not encrypted)"));
  signing_key key;
  key.key = adopt(raw);
  if (EVP_PKEY_is_a(raw, "RSA")) {
    if (EVP_PKEY_get_bits(raw) < 2048)
      return fail("RSA key of " + std::to_string(EVP_PKEY_get_bits(raw)) + " bits: at least 2048 are required");
    key.alg = alg.value_or(algorithm::rs384);
    if (key.alg != algorithm::rs256 && key.alg != algorithm::rs384)
      return fail("an RSA key signs RS384 or RS256, not " + std::string(to_string(key.alg)));
  } else if (EVP_PKEY_is_a(raw, "EC")) {
    const curve_info* c = curve_of(raw);
    if (!c) return fail(std::string("EC key on an unsupported curve (P-384 for ES384, P-256 for ES256)"));
    const algorithm fits = std::string_view(c->jose) == "P-384" ? algorithm::es384 : algorithm::es256;
    key.alg = alg.value_or(fits);
    if (key.alg != fits)
      return fail("an EC " + std::string(c->jose) + " key signs " + std::string(to_string(fits)) + ", not " +
                  std::string(to_string(key.alg)));
  } else {
    return fail(std::string("the key is neither RSA nor EC"));
  }
  key.kid = kid.empty() ? thumbprint(raw) : std::move(kid);
  return key;
}

boost::system::result<signing_key, std::string> load_signing_key_file(const std::string& path,
                                                                      std::optional<algorithm> alg, std::string kid) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read the key file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  auto key = load_signing_key(s.str(), alg, std::move(kid));
  if (!key) return fail("key file '" + path + "': " + key.error());
  return key;
}

}  // namespace iomt::net::jose
