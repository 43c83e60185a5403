// The Event Hubs REST send routes (sans-io):
//   POST /{hub}/messages                      send to the hub (partition from the key or round-robin)
//   POST /{hub}/partitions/{id}/messages      send to one partition
//   POST /{hub}/publishers/{id}/messages      send as a named publisher (its id is the partition key)
// An optional query (?timeout=60&api-version=2014-01) is ignored; path segments are percent-decoded;
// the literal segments match case-insensitively (Event Hubs entity paths are case-insensitive); one
// trailing '/' is tolerated.
#pragma once

#include "mapping/text/ascii.hpp"
#include "transport/http/http_types.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace iomt::transport::http {

enum class route_kind { hub, partition, publisher };

struct eventhub_route {
  std::string hub;  // decoded, as sent
  route_kind kind = route_kind::hub;
  std::string id;  // partition id or publisher id, decoded; empty for route_kind::hub

  // The entity the SAS token must cover: "hub", "hub/partitions/1", "hub/publishers/dev-01".
  std::string entity_path() const;
};

// 404 when the path is not a send route, 400 when the request target is not a valid origin-form.
boost::system::result<eventhub_route, http_error> parse_eventhub_route(std::string_view target);

// ASCII case-insensitive equality (header names, hub names, media types).
using mapping::text::iequals;

}  // namespace iomt::transport::http
