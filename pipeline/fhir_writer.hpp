// The real group_writer: one measurement group -> identity resolution (iomt-spec §11) -> observation
// groups (§7) -> create or merge + versioned upsert (§8, §9, §12) on a FHIR server, through one
// shard's FHIR client (keep-alive pool, auth, retries). Used only on its shard's io_context.
#pragma once

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
  static mapping::result<std::unique_ptr<fhir_group_writer>> create(boost::asio::io_context& ioc, const fhir_config& cfg,
                                                                    const mapping::fhir::fhir_mapping& mapping, metrics& m);

  boost::asio::awaitable<group_result> write(const mapping::fhir::measurement_group& group) override;

  fhir::client& client() { return *client_; }

private:
  fhir_group_writer(std::unique_ptr<fhir::client> c, const fhir_config& cfg, const mapping::fhir::fhir_mapping& mapping);

  std::unique_ptr<fhir::client> client_;
  const mapping::fhir::fhir_mapping& mapping_;
  fhir::identity_resolver identity_;
  fhir::observation_store store_;
  bool bundles_;
};

}  // namespace iomt::pipeline
