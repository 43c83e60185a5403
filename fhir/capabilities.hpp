// What a FHIR server says about itself in its CapabilityStatement (GET [base]/metadata) that the
// write plan needs: whether it takes `batch` Bundles and, where it states one, how many entries a
// Bundle may hold. Sans-io.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>

namespace iomt::fhir {

struct server_capabilities {
  bool batch = false;                             // rest[].interaction[].code == "batch"
  std::optional<std::size_t> max_bundle_entries;  // the server's own limit, when stated
};

// R4 has no standard element for a Bundle size limit, so servers state it in an extension: one on
// the CapabilityStatement, on rest[] or on the batch interaction, whose url names a maximum of
// Bundle/batch entries (contains "max" and one of "bundle", "batch", "entries", case-insensitive)
// with a positive valueInteger / valuePositiveInt / valueUnsignedInt. The smallest one found wins.
server_capabilities read_capabilities(const boost::json::object& statement);

}  // namespace iomt::fhir
