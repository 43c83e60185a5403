#include "fhir/capabilities.hpp"

#include "fhir/search.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

namespace iomt::fhir {

namespace {

bool names_entry_limit(std::string_view url) {
  std::string u;
  u.reserve(url.size());
  for (char c : url) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto has = [&u](std::string_view s) { return u.find(s) != std::string::npos; };
  return has("max") && (has("bundle") || has("batch") || has("entries"));
}

// The entry limits stated by the extensions of `element`.
void collect_limits(const boost::json::object& element, std::optional<std::size_t>& limit) {
  const auto* exts = element.if_contains("extension");
  if (!exts || !exts->is_array()) return;
  for (const auto& e : exts->get_array()) {
    const auto* eo = e.if_object();
    if (!eo || !names_entry_limit(string_member(*eo, "url"))) continue;
    for (const char* key : {"valueInteger", "valuePositiveInt", "valueUnsignedInt"}) {
      const auto* v = eo->if_contains(key);
      if (!v) continue;
      std::int64_t n = 0;
      if (v->is_int64())
        n = v->get_int64();
      else if (v->is_uint64())
        n = static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
      if (n > 0) limit = std::min<std::size_t>(limit.value_or(SIZE_MAX), static_cast<std::size_t>(n));
    }
  }
}

}  // namespace

server_capabilities read_capabilities(const boost::json::object& statement) {
  server_capabilities caps;
  collect_limits(statement, caps.max_bundle_entries);
  const auto* rest = statement.if_contains("rest");
  if (!rest || !rest->is_array()) return caps;
  for (const auto& mode : rest->get_array()) {
    const auto* mo = mode.if_object();
    if (!mo) continue;
    collect_limits(*mo, caps.max_bundle_entries);
    const auto* interactions = mo->if_contains("interaction");
    if (!interactions || !interactions->is_array()) continue;
    for (const auto& i : interactions->get_array()) {
      const auto* io = i.if_object();
      if (!io || string_member(*io, "code") != "batch") continue;
      caps.batch = true;
      collect_limits(*io, caps.max_bundle_entries);
    }
  }
  return caps;
}

}  // namespace iomt::fhir
