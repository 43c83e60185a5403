// Examples the designer page can load (GET /api/examples/NAME):
//   workshop: the Azure Health Data Services workshop's MedTech challenge (device mapping, FHIR
//             mapping and its three sample messages), read at run time from the shared folder; it
//             is never copied into this repository. Without that folder: the built-in example.
//   builtin:  a small example written for iomtflow (a CalculatedContent template with JMESPath
//             and JSONPath, a SampledData heart rate and a blood pressure with components).
// Answer: {name, title, source: "shared"|"builtin", note?, deviceMapping, fhirMapping,
//          messages: [{name, text}]} (texts as in the files).
#pragma once

#include <boost/json/object.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::designer {

// The shared folder: `configured` if not empty, else $IOMT_SHARED_DIR, else the first of
// <source tree>/../shared, ./../shared, ./shared that exists (empty path when none does).
std::filesystem::path find_shared_dir(const std::filesystem::path& configured);

// Splits the workshop's "Three-Sample-Message-Types*.json" (labelled "=== VITALS ===" sections,
// each holding one message) into {label, text}; a text without labels is one message.
std::vector<std::pair<std::string, std::string>> split_labelled_messages(std::string_view text,
                                                                         std::string_view fallback_name);

boost::json::object builtin_example();
// nullopt when the workshop files are not under `shared_dir`.
std::optional<boost::json::object> workshop_example(const std::filesystem::path& shared_dir);

}  // namespace iomt::designer
