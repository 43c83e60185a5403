// The ingest's authentication entry point (issue 15): who may send to an Event Hubs route.
//
// eventhub_ingest holds a list of authenticators (source.http.auth: sas, jwt or both). For a
// request, the first authenticator whose scheme word starts the Authorization header decides
// ("SharedAccessSignature ...", "Bearer ..."); with no match, the only authenticator (if there is
// one) explains what it expects, else the answer lists the accepted schemes. An authenticator is
// sans-io apart from what it caches, immutable after construction (or internally synchronized),
// and called from any connection's thread.
//
// Answers: 401 (or 403 for a valid identity without the right) with a message that says which
// check failed but never echoes the token, never says whether a key name exists; http_error::
// detail carries what only the log may see.
#pragma once

#include "net/jose/jwt.hpp"
#include "transport/http/eventhub_route.hpp"
#include "transport/http/http_types.hpp"
#include "transport/http/sas.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace iomt::transport::http {

// Remembers the last credential a connection presented and what verifying it found, so a
// keep-alive client does not pay one signature check per request; time- and resource-dependent
// checks still run every time. One per connection; `owner` is the authenticator that filled it.
struct auth_cache {
  std::string authorization;
  const void* owner = nullptr;
  sas_token token;  // SAS
  // Bearer (bearer_auth.hpp): the last JWT validated and the key set it was checked against (a
  // new key set invalidates it; the lifetime is checked on every request).
  struct bearer_entry {
    std::string authorization;
    net::jose::verified_jwt token;
    std::shared_ptr<const net::jose::key_set> keys;
  } bearer;
};

class ingest_authenticator {
public:
  virtual ~ingest_authenticator() = default;

  // The scheme word of the Authorization header this authenticator reads ("SharedAccessSignature").
  virtual std::string_view scheme() const noexcept = 0;

  // May `authorization` send to `route` at `now_unix`? `cache` may be null.
  virtual boost::system::result<void, http_error> authenticate(std::string_view authorization,
                                                               const eventhub_route& route, std::int64_t now_unix,
                                                               auth_cache* cache) const = 0;

  // The WWW-Authenticate challenge a 401 carries when no authenticator read the request
  // ("Bearer realm=..."); empty: this scheme has none.
  virtual std::string challenge() const { return {}; }

  // Does the header start with this authenticator's scheme word (case-insensitive)?
  bool handles(std::string_view authorization) const noexcept;
};

// SharedAccessSignature tokens (sas.hpp).
class sas_authenticator final : public ingest_authenticator {
public:
  explicit sas_authenticator(sas_verifier verifier) : verifier_(std::move(verifier)) {}
  std::string_view scheme() const noexcept override { return "SharedAccessSignature"; }
  boost::system::result<void, http_error> authenticate(std::string_view authorization, const eventhub_route& route,
                                                       std::int64_t now_unix, auth_cache* cache) const override;

private:
  sas_verifier verifier_;
};

}  // namespace iomt::transport::http
