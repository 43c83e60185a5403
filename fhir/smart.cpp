#include "fhir/smart.hpp"

#include "fhir/errors.hpp"
#include "net/jose/jws.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace iomt::fhir {

namespace jose = net::jose;

namespace {
// mapping_error is an aggregate whose first member is a string: a string does not convert to
// result<std::string> implicitly.
mapping::result<std::string> ok(std::string s) {
  return mapping::result<std::string>(boost::system::in_place_value, std::move(s));
}
}  // namespace

void append_form_field(std::string& out, std::string_view name, std::string_view value) {
  namespace grammar = boost::urls::grammar;
  // The urlencoded byte set leaves ASCII alphanumerics and *-._ as they are; a space becomes '+'.
  static constexpr auto form_chars = grammar::lut_chars(grammar::alnum_chars) + grammar::lut_chars("*-._");
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  if (!out.empty()) out += '&';
  out += boost::urls::encode(name, form_chars, opt);
  out += '=';
  out += boost::urls::encode(value, form_chars, opt);
}

std::string smart_configuration_url(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + "/.well-known/smart-configuration";
}

mapping::result<std::string> smart_token_endpoint(std::string_view document, jose::algorithm alg) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(document, ec);
  const auto* o = ec ? nullptr : v.if_object();
  if (!o)
    return authentication_error("the FHIR server's .well-known/smart-configuration is not a JSON object",
                                mapping::failure_class::blocked);
  const auto* te = o->if_contains("token_endpoint");
  if (!te || !te->is_string() || te->get_string().empty())
    return authentication_error("the FHIR server's .well-known/smart-configuration has no token_endpoint",
                                mapping::failure_class::blocked);
  auto lists = [&](std::string_view key, std::string_view want) {
    const auto* a = o->if_contains(key);
    if (!a || !a->is_array()) return true;  // not stated: assume supported
    return std::any_of(a->get_array().begin(), a->get_array().end(),
                       [&](const boost::json::value& x) { return x.is_string() && x.get_string() == want; });
  };
  if (!lists("token_endpoint_auth_methods_supported", "private_key_jwt"))
    return authentication_error(
        "the FHIR server's smart-configuration does not list private_key_jwt in token_endpoint_auth_methods_supported",
        mapping::failure_class::blocked);
  if (!lists("token_endpoint_auth_signing_alg_values_supported", jose::to_string(alg)))
    return authentication_error("the FHIR server's smart-configuration does not accept " +
                                    std::string(jose::to_string(alg)) +
                                    " client assertions (token_endpoint_auth_signing_alg_values_supported)",
                                mapping::failure_class::blocked);
  return ok(std::string(te->get_string()));
}

std::string new_jti() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

mapping::result<std::string> smart_client_assertion(const jose::signing_key& key, std::string_view client_id,
                                                    std::string_view token_endpoint,
                                                    std::chrono::system_clock::time_point now,
                                                    std::chrono::seconds lifetime, std::string_view jti) {
  lifetime = std::clamp(lifetime, std::chrono::seconds(10), std::chrono::seconds(300));
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  boost::json::object claims;
  claims["iss"] = client_id;
  claims["sub"] = client_id;
  claims["aud"] = token_endpoint;
  claims["exp"] = iat + lifetime.count();
  claims["iat"] = iat;
  claims["jti"] = jti;
  auto token = jose::sign_compact(key, claims);
  if (!token)
    return authentication_error("cannot sign the client assertion: " + token.error(), mapping::failure_class::blocked);
  return ok(std::move(*token));
}

std::string smart_token_request(std::string_view assertion, std::string_view scope) {
  std::string body;
  append_form_field(body, "grant_type", "client_credentials");
  if (!scope.empty()) append_form_field(body, "scope", scope);
  append_form_field(body, "client_assertion_type", jwt_bearer_assertion_type);
  append_form_field(body, "client_assertion", assertion);
  return body;
}

std::string workload_identity_token_request(std::string_view client_id, std::string_view assertion,
                                            std::string_view scope) {
  std::string body;
  append_form_field(body, "grant_type", "client_credentials");
  append_form_field(body, "client_id", client_id);
  if (!scope.empty()) append_form_field(body, "scope", scope);
  append_form_field(body, "client_assertion_type", jwt_bearer_assertion_type);
  append_form_field(body, "client_assertion", assertion);
  return body;
}

std::string entra_token_url(std::string_view authority_host, std::string_view tenant_id) {
  std::string url(authority_host.empty() ? default_authority_host : authority_host);
  if (url.back() != '/') url += '/';
  url += tenant_id;
  url += "/oauth2/v2.0/token";
  return url;
}

mapping::result<std::string> read_federated_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return authentication_error("cannot read the federated token file '" + path +
                                    "' (workload identity: is the azure.workload.identity/use label on the pod?)",
                                mapping::failure_class::blocked);
  std::ostringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return authentication_error("the federated token file '" + path + "' is empty", mapping::failure_class::blocked);
  return ok(token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1));
}

}  // namespace iomt::fhir
