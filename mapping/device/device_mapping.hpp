// A device mapping (devicecontent.json): a CollectionContent of content templates that turn one
// event envelope {Body, Properties, SystemProperties} into normalized measurements
// (iomt-spec §3.1-§3.7, §4, §13.1).
//
// Load once (parse, validate, compile every expression), then normalize many envelopes. A loaded
// mapping is immutable and may be used from several threads at once.
#pragma once

#include "mapping/device/extractor.hpp"
#include "mapping/device/scan_index.hpp"
#include "mapping/device/template_model.hpp"
#include "mapping/error.hpp"
#include "mapping/json/value.hpp"
#include "mapping/measurement.hpp"
#include "mapping/template_error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::device {

class device_mapping;

struct load_result {
  // Always set. Holds every template that loaded without error, in template order, even when
  // others failed (upstream registers the valid ones; iomt-spec §3.1, expected A18).
  std::shared_ptr<const device_mapping> mapping;
  template_errors errors;  // every problem of every template, warnings included
  // Upstream EnsureValid(): any non-warning error makes the whole mapping invalid.
  bool valid() const {
    for (const template_error& e : errors)
      if (!e.warning) return false;
    return true;
  }
};

class device_mapping {
public:
  // Parses and validates `json_text` (iomt-spec §3.1-§3.3). Never throws for bad input.
  static load_result load(std::string_view json_text);

  std::size_t template_count() const noexcept { return templates_.size(); }
  // typeName of each loaded template, in template order (FHIR template cross-check, validator E4).
  std::vector<std::string> type_names() const;
  // The compiled templates (read-only; tests and the CLI inspect them).
  const std::vector<content_template>& templates() const noexcept { return templates_; }

  // Normalizes one envelope (iomt-spec §3.4): appends the measurements of every template in
  // template order, then match order. On the first error it stops and returns it; measurements
  // appended before it stay in `out` (partial output, §13.1). Temporaries (the matchedToken
  // wrapper, JMESPath results) go to `scratch`; the caller sets ingestion_time. `max_out` bounds
  // out.size(): reaching it stops with a MeasurementLimitException (the designer's bound against
  // amplifying mappings, issue 15).
  result<void> normalize(const json::value& envelope, json::arena& scratch, std::vector<measurement>& out,
                         std::size_t max_out = static_cast<std::size_t>(-1)) const;

private:
  explicit device_mapping(std::vector<content_template> t);
  std::vector<content_template> templates_;
  // Per template: hash of the key its type match requires (0: none known), see normalize().
  std::vector<std::uint64_t> required_key_hash_;
  // Per template: the scan_ slot of a `$..[?(@key)]` type match, -1 otherwise (evaluated alone).
  std::vector<std::int32_t> scan_slot_;
  scan_index scan_;
  // Per template: ids of the fields it shares with other templates (extractor.hpp).
  std::vector<detail::shared_field_ids> field_ids_;
};

}  // namespace iomt::mapping::device
