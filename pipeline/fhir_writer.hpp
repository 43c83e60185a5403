// The real group_writer: a flush's measurement groups -> identity resolution (iomt-spec §11) ->
// observation groups (§7) -> create or merge + versioned upsert (§8, §9, §12) on a FHIR server,
// through one shard's FHIR client (keep-alive pool, auth, retries). One write plan per flush
// (issue 11): the identity lookups of all devices go out together, then the searches of every
// Observation the cache does not hold, then every create/update, each step in batch Bundles
// (fhir.bundles: auto = when the server's CapabilityStatement declares `batch`) or as single
// requests, fhir.max_connections at a time. Used only on its shard's io_context.
#pragma once

#include "fhir/batch_exchange.hpp"
#include "fhir/client.hpp"
#include "fhir/identity.hpp"
#include "fhir/observation_store.hpp"
#include "pipeline/config.hpp"
#include "pipeline/group_writer.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

namespace iomt::pipeline {

class metrics;

// FHIR client options from the service configuration.
fhir::client_options make_client_options(const fhir_config& cfg);

class fhir_group_writer final : public group_writer {
public:
  // Fails when the client cannot be created (bad URL, unreadable CA file).
  static mapping::result<std::unique_ptr<fhir_group_writer>> create(boost::asio::io_context& ioc,
                                                                    const fhir_config& cfg,
                                                                    const mapping::fhir::fhir_mapping& mapping,
                                                                    metrics& m);

  // One group: write_all of that group alone.
  boost::asio::awaitable<group_result> write(const mapping::fhir::measurement_group& group) override;
  boost::asio::awaitable<std::vector<group_result>> write_all(
      std::span<const mapping::fhir::measurement_group* const> groups) override;

  fhir::client& client() { return *client_; }
  // Whether requests go out in batch Bundles now (after `auto` was decided, or Bundles refused).
  bool bundles() const noexcept { return exchange_.bundles(); }
  const fhir::exchange_stats& exchange_stats() const noexcept { return exchange_.stats(); }

private:
  fhir_group_writer(std::unique_ptr<fhir::client> c, const fhir_config& cfg,
                    const mapping::fhir::fhir_mapping& mapping);
  // fhir.bundles auto|true: asks the server's CapabilityStatement once (again on the next flush
  // while it cannot be read) whether it takes batch Bundles and how many entries.
  boost::asio::awaitable<void> decide_bundles();

  std::unique_ptr<fhir::client> client_;
  const mapping::fhir::fhir_mapping& mapping_;
  fhir::identity_resolver identity_;
  fhir::observation_store store_;
  fhir::batch_exchange exchange_;
  bundles_mode mode_;
  std::size_t max_entries_;  // fhir.bundle_max_entries
  bool decided_ = false;     // the CapabilityStatement was read (or not needed)
};

}  // namespace iomt::pipeline
