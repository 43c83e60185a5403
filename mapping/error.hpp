// Errors of the mapping engine are values (STYLE habit 5). Each carries the upstream exception
// name so users see the same words MedTech used (iomt-spec §13, §14).
#pragma once

#include "mapping/failure_class.hpp"

#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>

namespace iomt::mapping {

struct mapping_error {
  std::string type;     // upstream exception name, e.g. "IncompatibleDataException"
  std::string message;  // upstream-style message text
  // Set where the failure is detected (mapping errors: permanent; the FHIR client: by status or
  // network error) and never re-derived from `type` (failure_class.hpp).
  failure_class cls = failure_class::permanent;
};

// Lets boost::system::result<T, mapping_error>::value() throw on misuse (a bug, not data).
[[noreturn]] inline void throw_exception_from_error(const mapping_error& e, const boost::source_location&) {
  throw std::runtime_error(e.type + ": " + e.message);
}

template <class T>
using result = boost::system::result<T, mapping_error>;

}  // namespace iomt::mapping
