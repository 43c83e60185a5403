#include "transport/http/eventhub_route.hpp"

#include <boost/url/parse.hpp>

#include <vector>

namespace iomt::transport::http {

std::string eventhub_route::entity_path() const {
  switch (kind) {
    case route_kind::hub:
      return hub;
    case route_kind::partition:
      return hub + "/partitions/" + id;
    case route_kind::publisher:
      return hub + "/publishers/" + id;
  }
  return hub;
}

boost::system::result<eventhub_route, http_error> parse_eventhub_route(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url)
    return http_error{bhttp::status::bad_request,
                      "request target '" + std::string(target.substr(0, 200)) + "' is not a valid path"};
  std::vector<std::string> segments;
  for (auto segment : url->segments()) {
    if (segments.size() == 6) break;  // longer than any route (even with a trailing slash)
    segments.push_back(std::string(segment));
  }
  if (!segments.empty() && segments.back().empty() && segments.size() > 1) segments.pop_back();  // trailing '/'
  auto not_found = [&] {
    return http_error{bhttp::status::not_found,
                      "no route for '" + std::string(url->encoded_path().substr(0, 200)) +
                          "': the send routes are /{hub}/messages, /{hub}/partitions/{id}/messages and "
                          "/{hub}/publishers/{id}/messages"};
  };
  for (const auto& s : segments)
    if (s.empty()) return not_found();
  eventhub_route route;
  if (segments.size() == 2 && iequals(segments[1], "messages")) {
    route.hub = std::move(segments[0]);
    return route;
  }
  if (segments.size() == 4 && iequals(segments[3], "messages")) {
    if (iequals(segments[1], "partitions")) {
      route.kind = route_kind::partition;
    } else if (iequals(segments[1], "publishers")) {
      route.kind = route_kind::publisher;
    } else {
      return not_found();
    }
    route.hub = std::move(segments[0]);
    route.id = std::move(segments[2]);
    return route;
  }
  return not_found();
}

}  // namespace iomt::transport::http
