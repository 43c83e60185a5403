// Byte <-> text encodings the Azure protocols use (SAS tokens, Shared Key, dead-letter files,
// AMQP binary values), each a thin wrapper over the library that already implements it:
//   base64       OpenSSL EVP_EncodeBlock / EVP_DecodeBlock (RFC 4648 §4, standard alphabet)
//   HMAC-SHA256  OpenSSL HMAC() (RFC 2104)
//   %-encoding   Boost.URL encode / pct_string_view (RFC 3986 §2.1)
// What the wrappers add is our contract: the exact padding and alphabet rules of base64_decode and
// the unreserved set of url_encode, which callers (and tests) rely on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iomt::transport::http {

// Percent-encoding of everything but A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved; like Python's
// quote_plus for a URI without spaces; a space becomes %20). Upper-case hex unless asked.
std::string url_encode(std::string_view s, bool lower_case_hex = false);
// Percent-decoding ('+' stays '+', so unencoded base64 survives); nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view s);

// Standard alphabet, '=' padding.
std::string base64_encode(std::string_view bytes);
// Standard alphabet (A-Z a-z 0-9 + /) with '=' padding, which may be left out; nullopt on
// anything else: white space, '=' before the end, a third '=', a length that padding cannot
// complete (4k+1 characters, or padding that does not reach a multiple of 4).
std::optional<std::string> base64_decode(std::string_view text);

// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view message);

}  // namespace iomt::transport::http
