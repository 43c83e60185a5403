#include "net/endpoint.hpp"

#include "mapping/text/ascii.hpp"

#include <boost/asio/error.hpp>
#include <boost/url/parse.hpp>

namespace iomt::net {

boost::system::result<endpoint, http_error> endpoint::parse(std::string_view url) {
  auto bad = [&](std::string why) {
    return http_error{boost::asio::error::invalid_argument, "invalid URL '" + std::string(url) + "': " + why};
  };
  auto u = boost::urls::parse_uri(url);
  if (!u) return bad(u.error().message());
  endpoint e;
  const std::string scheme = mapping::text::to_lower(u->scheme());
  if (scheme == "https")
    e.tls = true;
  else if (scheme != "http")
    return bad("the scheme must be http or https");
  e.host = u->host_address();  // IPv6 without brackets
  if (e.host.empty()) return bad("no host");
  const std::uint16_t default_port = e.tls ? 443 : 80;
  e.port = u->has_port() ? u->port_number() : default_port;
  if (u->has_port() && e.port == 0) return bad("invalid port");
  e.host_header = std::string(u->encoded_host());  // keeps IPv6 brackets
  if (e.port != default_port) e.host_header += ":" + std::to_string(e.port);
  e.base_path = std::string(u->encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

}  // namespace iomt::net
