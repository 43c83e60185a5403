// The sans-io parts of the two key-based ways to a FHIR server's access token (fhir/auth.hpp
// drives them):
//
// SMART Backend Services (HL7 SMART App Launch 2.x, "Backend Services"; RFC 7523 §2.2):
//   discovery   GET <fhir base>/.well-known/smart-configuration -> token_endpoint
//   assertion   a JWT signed with the client's private key (RS384 or ES384), header kid, claims
//               iss = sub = client_id, aud = the token endpoint URL, exp <= 5 minutes ahead,
//               jti unique (128 random bits), iat
//   request     POST token_endpoint, form: grant_type=client_credentials, scope,
//               client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer,
//               client_assertion
//
// Azure workload identity (Microsoft Entra ID federated credentials; the Azure SDK's
// WorkloadIdentityCredential): the Kubernetes projected service account token in
// AZURE_FEDERATED_TOKEN_FILE is the client assertion, exchanged at
// <AZURE_AUTHORITY_HOST>/<AZURE_TENANT_ID>/oauth2/v2.0/token with client_id = AZURE_CLIENT_ID,
// grant_type=client_credentials, scope, client_assertion_type jwt-bearer. The file is read again
// for every exchange: the kubelet rotates it.
#pragma once

#include "mapping/error.hpp"
#include "net/jose/jwk.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace iomt::fhir {

inline constexpr std::string_view jwt_bearer_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
inline constexpr std::string_view default_authority_host = "https://login.microsoftonline.com/";

// application/x-www-form-urlencoded (WHATWG URL §5.2): name=value, '&' between fields.
void append_form_field(std::string& out, std::string_view name, std::string_view value);

// <fhir base>/.well-known/smart-configuration, as SMART App Launch §2.1 places it.
std::string smart_configuration_url(std::string_view fhir_base_url);

// The token endpoint of a smart-configuration document. Refused (blocked: the server's
// configuration or ours must change) when the document lists token_endpoint_auth_methods_supported
// without private_key_jwt, or token_endpoint_auth_signing_alg_values_supported without `alg`.
mapping::result<std::string> smart_token_endpoint(std::string_view document, net::jose::algorithm alg);

// 128 random bits as 32 hex digits (OpenSSL RAND_bytes).
std::string new_jti();

// The client assertion JWT. `lifetime` is capped at 5 minutes (SMART: "no more than five minutes
// in the future").
mapping::result<std::string> smart_client_assertion(const net::jose::signing_key& key, std::string_view client_id,
                                                    std::string_view token_endpoint,
                                                    std::chrono::system_clock::time_point now,
                                                    std::chrono::seconds lifetime, std::string_view jti);

// Token request bodies.
std::string smart_token_request(std::string_view assertion, std::string_view scope);
std::string workload_identity_token_request(std::string_view client_id, std::string_view assertion,
                                            std::string_view scope);

// <authority host>/<tenant>/oauth2/v2.0/token (the authority host with or without its '/').
std::string entra_token_url(std::string_view authority_host, std::string_view tenant_id);

// The federated token file's content without surrounding white space; blocked error when it
// cannot be read or is empty (the pod's projected volume is missing).
mapping::result<std::string> read_federated_token(const std::string& path);

}  // namespace iomt::fhir
