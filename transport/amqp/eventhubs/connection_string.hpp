// Event Hubs connection strings, as the Azure portal and SDKs write them (sans-io):
//
//   Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=NAME;SharedAccessKey=KEY;EntityPath=HUB
//   Endpoint=sb://...;SharedAccessSignature=SharedAccessSignature sr=...&sig=...&se=...&skn=...;EntityPath=HUB
//   Endpoint=sb://localhost:5672;...;UseDevelopmentEmulator=true      (no TLS, as the Azure SDKs do)
//
// Keys are case-insensitive, pairs are separated by ';' (empty pairs ignored), a value runs to the
// next ';' and may contain '='. A port in the Endpoint is kept (tests, emulators); otherwise 5671.
#pragma once

#include "transport/amqp/error.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace iomt::transport::amqp::eventhubs {

struct connection_string {
  std::string host;  // NAMESPACE.servicebus.windows.net
  std::string port = "5671";
  bool tls = true;                      // false with UseDevelopmentEmulator=true
  std::string key_name;                 // SharedAccessKeyName
  std::string key;                      // SharedAccessKey
  std::string shared_access_signature;  // a ready-made token (no refresh possible)
  std::string entity_path;              // EntityPath: the event hub
};

boost::system::result<connection_string, error> parse_connection_string(std::string_view text);

}  // namespace iomt::transport::amqp::eventhubs
