// A device mapping and a FHIR mapping loaded together, and the offline run behind
// `iomtflow mapping test` and the designer's /api/mapping/test (the same object for both).
#pragma once

#include "fhir/client.hpp"
#include "fhir/identity_flow.hpp"
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/value.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::pipeline {

// One device message to run: its text and where it came from (for error reports).
struct message_input {
  std::string source;  // "file" or "file:line"
  std::string text;
};

// A `.ndjson` file holds one message per non-blank line; any other file is one message.
void split_messages(const std::string& file, const std::string& text, std::vector<message_input>& out);

// Where `mapping test` resolves identities (iomt-spec §11), with the identity core of `run`.
struct identity_source {
  fhir::identity_mode mode = fhir::identity_mode::create;
  // The FHIR server's Patients, Devices and Encounters (--resources; fhir::read_resources).
  std::vector<boost::json::object> resources;
  // A live server, read only (--fhir-url): searched, never written; resources above lie over it.
  std::optional<fhir::client_options> server;
};

struct test_options {
  bool envelope = false;                  // inputs are {"Body","Properties","SystemProperties"} objects
  std::string device_identifier_system;   // ResourceIdentity:DefaultDeviceIdentifierSystem
  std::optional<json::date_time> issued;  // Observation.issued; default: now
  identity_source identity;
  // Stop once this many measurements were made (the designer's bound, issue 15); the run then
  // reports the bound instead of a result.
  std::size_t max_measurements = static_cast<std::size_t>(-1);
};

class mapping_session {
public:
  static mapping_session load(std::string_view device_mapping_json, std::string_view fhir_mapping_json);

  bool valid() const;
  const mapping::template_errors& device_errors() const { return device_errors_; }
  const mapping::template_errors& fhir_errors() const { return fhir_errors_; }
  const mapping::device::device_mapping& device() const { return *device_; }
  const mapping::fhir::fhir_mapping& fhir() const { return *fhir_; }

  // {"valid", "deviceMapping":{"errors":[...]}, "fhirMapping":{"errors":[...]}}
  boost::json::object validation_report() const;
  // {"measurements", "observations", "errors", "warnings", "identity"} (docs/mapping-cli.md).
  // Fails only when the live server cannot be set up (bad URL, unreadable CA file): data and
  // server errors are in "errors". With `bound_hit`: a run stopped by opt.max_measurements says so
  // there (and returns an empty object).
  mapping::result<boost::json::object> run_test(const std::vector<message_input>& inputs, const test_options& opt,
                                                std::string* bound_hit = nullptr) const;

private:
  std::shared_ptr<const mapping::device::device_mapping> device_;
  std::shared_ptr<const mapping::fhir::fhir_mapping> fhir_;
  mapping::template_errors device_errors_;
  mapping::template_errors fhir_errors_;
};

}  // namespace iomt::pipeline
