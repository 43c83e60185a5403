#include "transport/http/encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>

namespace iomt::transport::http {

namespace {

constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// EVP_*Block take an int length: longer inputs go in slices of whole groups (4 characters,
// 3 bytes), each well below INT_MAX.
constexpr std::size_t max_decode_slice = std::size_t{1} << 30;
constexpr std::size_t max_encode_slice = max_decode_slice / 4 * 3;
static_assert(max_decode_slice % 4 == 0 && max_encode_slice % 3 == 0);

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string url_encode(std::string_view s, bool lower_case_hex) {
  boost::urls::encoding_opts opt;
  opt.lower_case = lower_case_hex;
  return boost::urls::encode(s, boost::urls::unreserved_chars, opt);
}

std::optional<std::string> url_decode(std::string_view s) {
  auto pct = boost::urls::make_pct_string_view(s);
  if (!pct) return std::nullopt;
  return pct->decode();  // default options: '+' is not a space
}

std::string base64_encode(std::string_view bytes) {
  const std::size_t size = (bytes.size() + 2) / 3 * 4;
  // EVP_EncodeBlock writes a NUL after its text: room for it, overwritten by the next slice, then
  // cut off.
  std::string out(size + 1, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  while (!bytes.empty()) {
    const std::string_view slice = bytes.substr(0, max_encode_slice);
    dst += EVP_EncodeBlock(dst, bytes_of(slice), static_cast<int>(slice.size()));
    bytes.remove_prefix(slice.size());
  }
  out.resize(size);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Our rules first, where EVP_DecodeBlock is more lenient: it skips white space at both ends and a
  // trailing '-', reads '=' anywhere as zero bits, and needs the padding it is given.
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  if (text.find_first_not_of(base64_alphabet) != std::string_view::npos) return std::nullopt;

  // Whole groups decode in place; the last partial group (2 or 3 characters) is padded here.
  const std::size_t tail = text.size() % 4;
  std::string out(text.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::string_view groups = text.substr(0, text.size() - tail);
  while (!groups.empty()) {
    const std::string_view slice = groups.substr(0, max_decode_slice);
    const int n = EVP_DecodeBlock(dst, bytes_of(slice), static_cast<int>(slice.size()));
    if (n < 0) return std::nullopt;  // not reached: the alphabet was checked
    dst += n;
    groups.remove_prefix(slice.size());
  }
  if (tail > 0) {
    std::array<char, 4> last{'=', '=', '=', '='};
    std::copy_n(text.data() + text.size() - tail, tail, last.data());
    std::array<unsigned char, 3> decoded{};
    if (EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(last.data()), 4) < 0)
      return std::nullopt;
    std::copy_n(decoded.data(), tail - 1, dst);  // the padding's zero bytes are not data
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  // HMAC() takes an int key length; keys are short configuration strings.
  const int key_len = key.size() > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(key.size());
  HMAC(EVP_sha256(), key.data(), key_len, bytes_of(message), message.size(), md.data(), &len);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

}  // namespace iomt::transport::http
