#include "net/jose/jws.hpp"

#include "net/jose/base64url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>

namespace iomt::net::jose {

namespace {

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct ecdsa_free {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

const EVP_MD* digest_of(algorithm a) {
  return a == algorithm::rs256 || a == algorithm::es256 ? EVP_sha256() : EVP_sha384();
}
using text_result = boost::system::result<std::string, std::string>;
text_result sign_error(std::string why) { return text_result(boost::system::in_place_error, std::move(why)); }

bool is_ec(algorithm a) { return a == algorithm::es256 || a == algorithm::es384; }
int ec_bytes(algorithm a) { return a == algorithm::es256 ? 32 : 48; }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// R || S -> DER ECDSA-Sig-Value; "" when the size is wrong.
std::string ecdsa_to_der(algorithm a, std::string_view raw) {
  const auto n = static_cast<std::size_t>(ec_bytes(a));
  if (raw.size() != 2 * n) return {};
  std::unique_ptr<ECDSA_SIG, ecdsa_free> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw.substr(n)), static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// DER ECDSA-Sig-Value -> R || S; "" on failure.
std::string ecdsa_from_der(algorithm a, std::string_view der) {
  const unsigned char* p = bytes(der);
  std::unique_ptr<ECDSA_SIG, ecdsa_free> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  const int n = ec_bytes(a);
  std::string out(static_cast<std::size_t>(2 * n), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, n) != n || BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + n, n) != n)
    return {};
  return out;
}

boost::system::result<boost::json::object, std::string> json_part(std::string_view b64, const char* what) {
  auto text = base64url_decode(b64);
  if (!text) return std::string("its ") + what + " is not base64url";
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*text, ec);
  if (ec || !v.is_object()) return std::string("its ") + what + " is not a JSON object";
  return std::move(v.get_object());
}

}  // namespace

boost::system::result<compact_jws, std::string> parse_compact(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return std::string("not three base64url parts separated by '.'");
  compact_jws jws;
  auto header = json_part(token.substr(0, first), "header");
  if (!header) return header.error();
  jws.header = std::move(*header);
  auto payload = json_part(token.substr(first + 1, second - first - 1), "payload");
  if (!payload) return payload.error();
  jws.payload = std::move(*payload);
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature) return std::string("its signature is not base64url");
  jws.signature = std::move(*signature);
  if (const auto* a = jws.header.if_contains("alg"); a && a->is_string()) jws.alg = std::string(a->get_string());
  if (const auto* k = jws.header.if_contains("kid"); k && k->is_string()) jws.kid = std::string(k->get_string());
  jws.signing_input = token.substr(0, second);
  return jws;
}

bool verify_signature(algorithm alg, const public_key& key, std::string_view signing_input,
                      std::string_view signature) {
  if (!key.key || !key.suits(alg)) return false;
  std::string der;
  if (is_ec(alg)) {
    der = ecdsa_to_der(alg, signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_of(alg), nullptr, key.key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(signing_input), signing_input.size()) ==
         1;
}

boost::system::result<std::string, std::string> sign_compact(const signing_key& key, const boost::json::object& payload,
                                                             const boost::json::object& extra_header) {
  boost::json::object header;
  header["alg"] = to_string(key.alg);
  header["typ"] = "JWT";
  if (!key.kid.empty()) header["kid"] = key.kid;
  for (const auto& [name, value] : extra_header) header[name] = value;
  std::string token = base64url_encode(boost::json::serialize(header));
  token += '.';
  token += base64url_encode(boost::json::serialize(payload));
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_of(key.alg), nullptr, key.key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(token), token.size()) != 1)
    return sign_error("signing failed (OpenSSL)");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(token), token.size()) != 1)
    return sign_error("signing failed (OpenSSL)");
  sig.resize(len);
  if (is_ec(key.alg)) {
    sig = ecdsa_from_der(key.alg, sig);
    if (sig.empty()) return sign_error("signing failed (ECDSA signature conversion)");
  }
  token += '.';
  token += base64url_encode(sig);
  return text_result(boost::system::in_place_value, std::move(token));
}

}  // namespace iomt::net::jose
