// The event trace for people: what `iomtflow trace` prints from a GET /debug/events answer.
// Pure (JSON in, text out), so the wording is tested without a service.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace iomt::pipeline::trace {

struct text_options {
  std::size_t body_chars = 300;  // the body is cut after this many bytes (0: whole)
  std::string config_path;       // for the hints ("iomtflow deadletter list --config FILE")
};

// `answer`: the JSON object of GET /debug/events. One block per event, newest first.
std::string describe_events(const boost::json::value& answer, const text_options& options = {});

}  // namespace iomt::pipeline::trace
