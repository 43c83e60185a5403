// The running service behind `iomtflow run` as one object (issue 16): it owns its components,
// builds them from the configuration, starts them in order (pipeline, buffer consumer, retrying
// sinks, HTTP ingest, AMQP / Event Hubs sources, control tasks), stops them in reverse on SIGTERM
// or SIGINT (every accepted event gets its final outcome first), answers readiness and mounts the
// routes (/metrics, /healthz, /readyz, the designer). docs/architecture.md draws the data path.
#pragma once

#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "pipeline/config.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace iomt::pipeline {

class service {
public:
  // A start-up failure: what to print (after "error: ") and the exit status.
  struct start_error {
    std::string message;
    int exit_code = 2;
  };

  // Builds every component; nothing runs yet.
  static boost::system::result<std::unique_ptr<service>, start_error> create(
      const service_config& cfg, std::shared_ptr<const mapping::device::device_mapping> device,
      std::shared_ptr<const mapping::fhir::fhir_mapping> fhir);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  // Starts, serves until SIGTERM/SIGINT (or request_stop()), stops in reverse order. Returns the
  // exit status (0 after a clean stop, 2 when a component could not start).
  int run();
  // Begins the same orderly stop as SIGTERM. Any thread.
  void request_stop();
  // "" when ready, else why (the text of GET /readyz, without URLs, addresses or host names of
  // the peers: issue 15). Any thread.
  std::string not_ready_reason() const;
  // The same with every detail, for the log.
  std::string not_ready_detail() const;

private:
  struct parts;
  explicit service(std::unique_ptr<parts> p);
  void mount_routes();
  void mount_designer_routes();
  std::unique_ptr<parts> p_;
};

}  // namespace iomt::pipeline
