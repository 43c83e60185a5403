#include "transport/amqp/eventhubs/connection_string.hpp"

#include "mapping/text/ascii.hpp"

#include <algorithm>

namespace iomt::transport::amqp::eventhubs {

namespace {

using mapping::text::iequals;
using mapping::text::trim;

error bad(std::string what) { return {errc::bad_configuration, "Event Hubs connection string: " + std::move(what)}; }

}  // namespace

boost::system::result<connection_string, error> parse_connection_string(std::string_view text) {
  connection_string cs;
  std::string endpoint;
  bool emulator = false;
  while (!text.empty()) {
    const auto semi = text.find(';');
    const std::string_view pair = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) return bad("'" + std::string(pair.substr(0, 40)) + "' is not KEY=VALUE");
    const std::string_view k = trim(pair.substr(0, eq));
    const std::string v(trim(pair.substr(eq + 1)));
    if (iequals(k, "Endpoint"))
      endpoint = v;
    else if (iequals(k, "SharedAccessKeyName"))
      cs.key_name = v;
    else if (iequals(k, "SharedAccessKey"))
      cs.key = v;
    else if (iequals(k, "SharedAccessSignature"))
      cs.shared_access_signature = v;
    else if (iequals(k, "EntityPath"))
      cs.entity_path = v;
    else if (iequals(k, "UseDevelopmentEmulator"))
      emulator = iequals(v, "true");
    // Other keys (TransportType, ...) are accepted and ignored, as the SDKs do.
  }
  if (endpoint.empty()) return bad("Endpoint is missing");
  std::string_view ep = endpoint;
  const auto scheme = ep.find("://");
  if (scheme != std::string_view::npos) ep.remove_prefix(scheme + 3);
  ep = ep.substr(0, ep.find('/'));
  if (ep.empty()) return bad("Endpoint has no host: " + endpoint);
  const auto colon = ep.rfind(':');
  if (colon != std::string_view::npos && ep.find(']') == std::string_view::npos) {
    cs.host = std::string(ep.substr(0, colon));
    cs.port = std::string(ep.substr(colon + 1));
    if (cs.port.empty() || !std::all_of(cs.port.begin(), cs.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("Endpoint has a bad port: " + endpoint);
  } else {
    cs.host = std::string(ep);
    if (emulator) cs.port = "5672";
  }
  cs.tls = !emulator;
  if (cs.shared_access_signature.empty()) {
    if (cs.key_name.empty()) return bad("SharedAccessKeyName is missing (or give a SharedAccessSignature)");
    if (cs.key.empty()) return bad("SharedAccessKey is missing");
  }
  return cs;
}

}  // namespace iomt::transport::amqp::eventhubs
