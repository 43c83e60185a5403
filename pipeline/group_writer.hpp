// The FHIR side of a shard: turns one measurement group into Observations on a FHIR server
// (identity resolution §11, observation groups §7, build/merge §8-§9, upsert §12). One instance per
// shard, used only from that shard's io_context (shared-nothing, STYLE: Seastar).
#pragma once

#include "mapping/error.hpp"
#include "mapping/fhir/fhir_mapping.hpp"

#include <boost/asio/awaitable.hpp>

#include <vector>

namespace iomt::pipeline {

struct group_result {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t no_op = 0;
  std::size_t contention = 0;
  std::vector<mapping::mapping_error> errors;  // one per failed observation group (or the group itself)
  bool failed() const { return !errors.empty(); }
};

class group_writer {
public:
  virtual ~group_writer() = default;
  // Completion: when every Observation of the group has its final outcome. Never throws for data
  // or server errors: they come back in group_result::errors.
  virtual boost::asio::awaitable<group_result> write(const mapping::fhir::measurement_group& group) = 0;
};

}  // namespace iomt::pipeline
