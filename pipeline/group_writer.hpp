// The FHIR side of a shard: turns the measurement groups of a flush into Observations on a FHIR
// server (identity resolution §11, observation groups §7, build/merge §8-§9, upsert §12). One
// instance per shard, used only from that shard's io_context (shared-nothing, STYLE: Seastar).
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/fhir/identity_ids.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::pipeline {

// An Observation the group's write touched (details for the event trace).
struct observation_written {
  std::string id;              // Observation/<id>
  std::string_view operation;  // "created" | "updated" | "no-op" | "failed" (static text)
};

struct group_result {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t no_op = 0;
  std::size_t contention = 0;
  std::vector<mapping::mapping_error> errors;  // one per failed observation group (or the group itself)
  // Only when the writer was asked for details (set_details: the event trace is on):
  std::optional<mapping::fhir::resource_ids> ids;  // Patient / Device / Encounter the identity step resolved
  std::vector<observation_written> observations;   // every Observation of the group, in write order
  bool failed() const { return !errors.empty(); }
};

class group_writer {
public:
  virtual ~group_writer() = default;
  // Completion: when every Observation of the group has its final outcome. Never throws for data
  // or server errors: they come back in group_result::errors.
  virtual boost::asio::awaitable<group_result> write(const mapping::fhir::measurement_group& group) = 0;

  // A whole flush at once (issue 11: one write plan per flush). Completion: one result per group,
  // in the order of `groups`, when every group has its final outcome; the groups of one device
  // are applied in their order (iomt-spec §5.5). Never throws for data or server errors; an
  // exception is a bug, and the caller fails the flush's groups transiently.
  // The default writes the groups one after another with write(); a write() that throws gives
  // its group an UnhandledException (transient) and the others go on.
  virtual boost::asio::awaitable<std::vector<group_result>> write_all(
      std::span<const mapping::fhir::measurement_group* const> groups);

  // Also fill group_result::ids and ::observations (the event trace, issue 13). Set before use.
  void set_details(bool on) noexcept { details_ = on; }

protected:
  bool details_ = false;
};

}  // namespace iomt::pipeline
