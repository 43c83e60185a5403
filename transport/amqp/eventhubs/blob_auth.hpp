// Azure Blob Storage addressing and authorization for the blob checkpoint store (sans-io):
//
//   - storage connection strings, as the portal and SDKs write them:
//       DefaultEndpointsProtocol=https;AccountName=A;AccountKey=K;EndpointSuffix=core.windows.net
//       BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;AccountName=..;AccountKey=..
//       BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=..&sig=..
//       UseDevelopmentStorage=true        (azurite: http://127.0.0.1:10000/devstoreaccount1)
//     and SAS URLs (https://a.blob.core.windows.net/CONTAINER?sv=..&sig=..);
//   - Shared Key signing (Storage REST "Authorize with Shared Key", versions 2015-02-21 and later:
//     Content-Length is empty when zero):
//       StringToSign = VERB \n Content-Encoding \n Content-Language \n Content-Length \n Content-MD5 \n
//                      Content-Type \n Date \n If-Modified-Since \n If-Match \n If-None-Match \n
//                      If-Unmodified-Since \n Range \n CanonicalizedHeaders CanonicalizedResource
//       CanonicalizedHeaders  = every x-ms-* header, lower-case name, sorted, "name:value\n"
//       CanonicalizedResource = "/" ACCOUNT ENCODED-PATH, then per query parameter (lower-case name,
//                               sorted) "\nname:value" with the decoded value(s), comma-joined
//       Authorization: SharedKey ACCOUNT:base64(HMAC-SHA256(base64-decoded key, UTF-8 StringToSign))
//   - the checkpoint blob names of the Azure SDKs' BlobCheckpointStore:
//       lower-case("{namespace}/{eventhub}/{consumergroup}/checkpoint/{partition}")
#pragma once

#include "transport/amqp/error.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iomt::transport::amqp::eventhubs::blob {

// The x-ms-version we send.
inline constexpr std::string_view api_version = "2021-12-02";

// The well-known development storage account (azurite, the storage emulator).
inline constexpr std::string_view dev_account = "devstoreaccount1";
inline constexpr std::string_view dev_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct storage_account {
  bool tls = true;
  std::string host;                 // for DNS and the certificate check
  std::string port = "443";         // "443" / "80" unless the endpoint names one
  std::string base_path;            // "" or a path-style account prefix ("/devstoreaccount1"), no trailing '/'
  std::string account_name;         // needed for Shared Key
  std::string account_key;          // base64 text (Shared Key); empty with a SAS
  std::string sas;                  // SAS query without '?' ("sv=..&sig=.."); empty with a key
  std::string host_header() const;  // "host[:port]" as sent in Host
  std::string endpoint() const;     // "https://host[:port]/base" for messages
};

// A connection string (see above) or, when `text` starts with http:// or https://, a SAS URL. For a
// SAS URL with a path: when `container` is empty the last path segment becomes the container (and
// is written back); when the path ends with "/" + container, that segment is dropped.
boost::system::result<storage_account, error> parse_storage_location(std::string_view text, std::string& container);

// One request as the signer sees it. `path` is percent-encoded as sent ("/base/container/blob");
// `query` holds decoded names and values in the order sent; `headers` are all headers sent besides
// Host, Authorization and Content-Length.
struct blob_request {
  std::string method;  // GET, HEAD, PUT
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t content_length = 0;
};

// path + "?" + the encoded query (+ "&" + the SAS).
std::string request_target(const blob_request& r, std::string_view sas = {});

std::string shared_key_string_to_sign(std::string_view account_name, const blob_request& r);
// "SharedKey ACCOUNT:SIGNATURE"; `key` is the account key's base64 text (already validated).
std::string shared_key_authorization(std::string_view account_name, std::string_view key, const blob_request& r);

// Percent-encodes a blob path: everything but A-Z a-z 0-9 - _ . ~ and '/'.
std::string encode_path(std::string_view path);

// "Wed, 25 Nov 2026 23:17:46 GMT" (RFC 1123, x-ms-date).
std::string rfc1123(std::chrono::system_clock::time_point t);
// The Unix milliseconds of an RFC 1123 date as Blob Storage sends it (Last-Modified); nullopt when
// it is not one.
std::optional<std::int64_t> parse_rfc1123(std::string_view text);

// The Azure SDKs' ownership blob prefix and names (BlobCheckpointStore: namespace, hub and group
// lower-case, the partition id as it is): "{ns}/{hub}/{group}/ownership/{partition}", metadata
// `ownerid`, an empty body.
std::string ownership_prefix(std::string_view ns, std::string_view hub, std::string_view group);
std::string ownership_blob_name(std::string_view ns, std::string_view hub, std::string_view group,
                                std::string_view partition);

// The Azure SDKs' checkpoint blob prefix and names (lower-case, as the SDKs write them).
std::string checkpoint_prefix(std::string_view ns, std::string_view hub, std::string_view group);
std::string checkpoint_blob_name(std::string_view ns, std::string_view hub, std::string_view group,
                                 std::string_view partition);

// Container names: 3-63 characters, lower-case letters, digits and single '-', starting and ending
// with a letter or digit (Blob REST "Naming and referencing containers").
bool valid_container_name(std::string_view name);

// One <Blob> of a List Blobs answer (include=metadata).
struct listed_blob {
  std::string name;
  std::string etag;                     // as sent in If-Match ("\"0x8D...\"")
  std::string offset, sequence_number;  // metadata `offset`, `sequencenumber` (may be empty)
  std::string owner_id;                 // metadata `ownerid` (ownership blobs)
  bool has_owner_id = false;            // the metadata element is present (possibly empty)
  std::string last_modified;            // Properties/Last-Modified (RFC 1123)
};
struct blob_listing {
  std::vector<listed_blob> blobs;
  std::string next_marker;
};
// A small scanner for the List Blobs XML (only the elements above; entities decoded).
boost::system::result<blob_listing, error> parse_blob_listing(std::string_view xml);

// The x-ms-error-code / <Code> of an error answer, for messages ("" when absent).
std::string error_code_of(std::string_view xml_body);

}  // namespace iomt::transport::amqp::eventhubs::blob
