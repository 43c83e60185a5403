// Search by identifier and the Bundle plumbing around it (sans-io): query strings, searchset
// parsing, paging, the exact-match filter of iomt-spec §12 and meta.versionId.
#pragma once

#include "mapping/error.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::fhir {

// "{type}?identifier={system}%7C{value}" ('|' percent-encoded) or "{type}?identifier={value}" when system is blank
// (iomt-spec §11 search primitive: no system matches any system). Values are FHIR-escaped
// (`\`, `,`, `|`) and percent-encoded so any device id forms a valid request target.
std::string identifier_query(std::string_view type, std::string_view system, std::string_view value);

// The inverse of identifier_query: "{type}?identifier={token}" -> type, system and value.
// `system` is nullopt for a token without '|' (any system matches); "" for "|value" (no system).
// nullopt when the request target is not an identifier search.
struct identifier_search {
  std::string type;
  std::optional<std::string> system;
  std::string value;
};
std::optional<identifier_search> decode_identifier_query(std::string_view target);

// FHIR identifier search matching (R4 token search on Identifier): `value` equal, and `system`
// equal when given ("" = an identifier without system).
bool matches_identifier(const boost::json::object& resource, const identifier_search& search);

// FHIR search escaping + percent-encoding of one token part (exposed for tests).
std::string encode_search_token(std::string_view part);

struct search_page {
  std::vector<boost::json::object> resources;  // entry[].resource, in order
  std::optional<std::string> next;             // link[relation=next].url
  std::optional<std::int64_t> total;           // Bundle.total
};

// A searchset Bundle (or any Bundle) -> its resources and paging info. A body that is not a
// Bundle is an error (FhirClientException, "unexpected response").
mapping::result<search_page> parse_search_bundle(std::string_view body);
mapping::result<search_page> parse_search_bundle(const boost::json::object& bundle);

// The origin-form target ("/fhir/Observation?...") of an absolute or relative `next` URL.
std::string target_of_url(std::string_view url);

// True when one of `resource.identifier[]` has exactly this system and value (ordinal). A blank
// system matches identifiers without a system (or with an empty one) only.
bool has_identifier(const boost::json::object& resource, std::string_view system, std::string_view value);

// Keeps the resources holding the exact identifier (iomt-spec §12 step 2: servers may match
// only a prefix of long values, or case-insensitively).
void keep_exact_matches(std::vector<boost::json::object>& resources, std::string_view system, std::string_view value);

// meta.versionId, or empty.
std::string_view version_id(const boost::json::object& resource);

// The weak ETag form used in If-Match (`W/"<versionId>"`, iomt-spec §12 step 4). Version ids are
// opaque (the test server uses UUIDs).
std::string weak_etag(std::string_view version);

// A string member, or empty.
std::string_view string_member(const boost::json::object& o, std::string_view key);

}  // namespace iomt::fhir
