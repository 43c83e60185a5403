#include "transport/http/ingest_auth.hpp"

#include <optional>

namespace iomt::transport::http {

bool ingest_authenticator::handles(std::string_view authorization) const noexcept {
  while (!authorization.empty() && (authorization.front() == ' ' || authorization.front() == '\t'))
    authorization.remove_prefix(1);
  const std::string_view word = scheme();
  return authorization.size() > word.size() && iequals(authorization.substr(0, word.size()), word) &&
         (authorization[word.size()] == ' ' || authorization[word.size()] == '\t');
}

boost::system::result<void, http_error> sas_authenticator::authenticate(std::string_view authorization,
                                                                        const eventhub_route& route,
                                                                        std::int64_t now_unix,
                                                                        auth_cache* cache) const {
  auto unauthorized = [](const sas_error& e) {
    return http_error{bhttp::status::unauthorized, std::string("SAS ") + public_reason(e.code) + ": " + e.message,
                      std::string("SAS ") + to_string(e.code) + (e.detail.empty() ? "" : ": " + e.detail)};
  };
  const sas_token* token = nullptr;
  std::optional<sas_token> fresh;
  if (cache && cache->owner == this && !authorization.empty() && cache->authorization == authorization) {
    token = &cache->token;  // signature verified earlier on this connection
  } else {
    auto parsed = parse_sas_token(authorization);
    if (!parsed) return unauthorized(parsed.error());
    if (auto r = verifier_.verify_signature(*parsed); !r) return unauthorized(r.error());
    if (cache) {
      cache->authorization = std::string(authorization);
      cache->owner = this;
      cache->token = std::move(*parsed);
      token = &cache->token;
    } else {
      fresh = std::move(*parsed);
      token = &*fresh;
    }
  }
  if (auto r = verifier_.check_claims(*token, route.entity_path(), now_unix); !r) return unauthorized(r.error());
  return {};
}

}  // namespace iomt::transport::http
