// base64url without padding (RFC 7515 §2, RFC 4648 §5): the encoding of every JWS / JWK field.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iomt::net::jose {

// URL-safe alphabet (A-Z a-z 0-9 - _), no '=' padding.
std::string base64url_encode(std::string_view bytes);

// The URL-safe alphabet only, unpadded (JWS forbids padding, RFC 7515 §2); nullopt on anything
// else: '=', '+', '/', white space, a length of 4k+1, or non-zero bits after the last byte (a
// second spelling of the same bytes, which would let a signed token be altered unnoticed).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace iomt::net::jose
