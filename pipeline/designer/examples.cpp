#include "pipeline/designer/examples.hpp"

#include <boost/json/array.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace iomt::designer {

namespace fs = std::filesystem;

namespace {

// The built-in example (written for iomtflow). Heart rate: CalculatedContent with JSONPath over the
// wrapper (matchedToken + Body), SampledData per hour with 1 min slots, so the chart shows gaps.
// Blood pressure: JMESPath with fromUnixTimestamp, two components.
constexpr std::string_view builtin_device = R"json({
  "templateType": "CollectionContent",
  "template": [
    {
      "templateType": "CalculatedContent",
      "template": {
        "typeName": "heartRate",
        "typeMatchExpression": "$..[?(@heartRate)]",
        "deviceIdExpression": "$.Body.deviceId",
        "patientIdExpression": "$.Body.patientId",
        "timestampExpression": "$.matchedToken.measuredAt",
        "values": [
          {
            "valueName": "hr",
            "valueExpression": "$.matchedToken.heartRate",
            "required": true
          }
        ]
      }
    },
    {
      "templateType": "CalculatedContent",
      "template": {
        "typeName": "bloodPressure",
        "typeMatchExpression": {
          "value": "$..[?(@systolic)]",
          "language": "JsonPath"
        },
        "defaultExpressionLanguage": "JmesPath",
        "deviceIdExpression": "matchedToken.deviceId",
        "patientIdExpression": "matchedToken.patientId",
        "timestampExpression": "fromUnixTimestamp(matchedToken.epoch)",
        "values": [
          {
            "valueName": "systolic",
            "valueExpression": "matchedToken.systolic",
            "required": true
          },
          {
            "valueName": "diastolic",
            "valueExpression": "matchedToken.diastolic",
            "required": true
          }
        ]
      }
    }
  ]
}
)json";

constexpr std::string_view builtin_fhir = R"json({
  "templateType": "CollectionFhir",
  "template": [
    {
      "templateType": "CodeValueFhir",
      "template": {
        "typeName": "heartRate",
        "periodInterval": 60,
        "codes": [
          {
            "code": "8867-4",
            "system": "http://loinc.org",
            "display": "Heart rate"
          }
        ],
        "value": {
          "valueType": "SampledData",
          "valueName": "hr",
          "defaultPeriod": 60000,
          "unit": "count/min"
        }
      }
    },
    {
      "templateType": "CodeValueFhir",
      "template": {
        "typeName": "bloodPressure",
        "periodInterval": 0,
        "codes": [
          {
            "code": "85354-9",
            "system": "http://loinc.org",
            "display": "Blood pressure panel"
          }
        ],
        "components": [
          {
            "codes": [
              {
                "code": "8480-6",
                "system": "http://loinc.org",
                "display": "Systolic blood pressure"
              }
            ],
            "value": {
              "valueType": "Quantity",
              "valueName": "systolic",
              "unit": "mmHg",
              "system": "http://unitsofmeasure.org",
              "code": "mm[Hg]"
            }
          },
          {
            "codes": [
              {
                "code": "8462-4",
                "system": "http://loinc.org",
                "display": "Diastolic blood pressure"
              }
            ],
            "value": {
              "valueType": "Quantity",
              "valueName": "diastolic",
              "unit": "mmHg",
              "system": "http://unitsofmeasure.org",
              "code": "mm[Hg]"
            }
          }
        ]
      }
    }
  ]
}
)json";

constexpr std::string_view builtin_watch = R"json({
  "deviceId": "watch-01",
  "patientId": "patient-01",
  "readings": [
    { "heartRate": 72, "measuredAt": "2024-03-01T08:00:00Z" },
    { "heartRate": 75, "measuredAt": "2024-03-01T08:01:00Z" },
    { "heartRate": 81, "measuredAt": "2024-03-01T08:02:00Z" },
    { "heartRate": 78, "measuredAt": "2024-03-01T08:03:00Z" },
    { "heartRate": 90, "measuredAt": "2024-03-01T08:07:00Z" },
    { "heartRate": 94, "measuredAt": "2024-03-01T08:08:00Z" },
    { "heartRate": 91, "measuredAt": "2024-03-01T08:09:00Z" },
    { "heartRate": 80, "measuredAt": "2024-03-01T08:15:00Z" }
  ]
}
)json";

constexpr std::string_view builtin_cuff = R"json({
  "deviceId": "cuff-07",
  "patientId": "patient-01",
  "systolic": "121",
  "diastolic": "79",
  "epoch": 1709280000
}
)json";

constexpr std::string_view workshop_folder =
    "vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData";

std::optional<std::string> read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return s;
}

bool exists_dir(const fs::path& p) {
  std::error_code ec;
  return !p.empty() && fs::is_directory(p, ec);
}

}  // namespace

fs::path find_shared_dir(const fs::path& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("IOMT_SHARED_DIR"); env && *env) return env;
  std::vector<fs::path> candidates;
#ifdef IOMT_DESIGNER_SOURCE_DIR
  candidates.push_back(fs::path(IOMT_DESIGNER_SOURCE_DIR) / ".." / "shared");
#endif
  candidates.push_back(fs::path("..") / "shared");
  candidates.push_back("shared");
  for (const auto& c : candidates)
    if (exists_dir(c)) return fs::weakly_canonical(c);
  return {};
}

std::vector<std::pair<std::string, std::string>> split_labelled_messages(std::string_view text,
                                                                         std::string_view fallback_name) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    const std::size_t first = line.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && line[first] == '=') {
      std::string label;
      for (char c : line)
        if (c != '=' && c != ' ' && c != '\t' && c != '\r' && c != '\n') label += c;
      out.emplace_back(label.empty() ? std::string(fallback_name) : label, "");
    } else if (!out.empty()) {
      out.back().second += line;
    } else if (first != std::string_view::npos) {
      out.emplace_back(std::string(fallback_name), std::string(line));
    }
  }
  // Trim blank lines around each message; drop sections with nothing in them.
  std::vector<std::pair<std::string, std::string>> kept;
  for (auto& [label, body] : out) {
    const auto b = body.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) continue;
    const auto e = body.find_last_not_of(" \t\r\n");
    kept.emplace_back(label, body.substr(b, e - b + 1) + "\n");
  }
  return kept;
}

boost::json::object builtin_example() {
  boost::json::array messages;
  messages.push_back(boost::json::object{{"name", "watch.json"}, {"text", builtin_watch}});
  messages.push_back(boost::json::object{{"name", "cuff.json"}, {"text", builtin_cuff}});
  return {{"name", "builtin"},           {"title", "Heart rate (SampledData) and blood pressure (components)"},
          {"source", "builtin"},         {"deviceMapping", builtin_device},
          {"fhirMapping", builtin_fhir}, {"messages", std::move(messages)}};
}

std::optional<boost::json::object> workshop_example(const fs::path& shared_dir) {
  if (shared_dir.empty()) return std::nullopt;
  const fs::path dir = shared_dir / workshop_folder;
  auto device = read_text(dir / "Answers/devicecontent.json");
  auto fhir = read_text(dir / "Answers/fhirmapping.json");
  auto samples = read_text(dir / "Three-Sample-Message-Types.json");
  if (!device || !fhir || !samples) return std::nullopt;
  boost::json::array messages;
  for (auto& [label, text] : split_labelled_messages(*samples, "message")) {
    std::string name = label;
    for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    messages.push_back(boost::json::object{{"name", name + ".json"}, {"text", text}});
  }
  return boost::json::object{
      {"name", "workshop"},   {"title", "Azure Health Data Services workshop, Challenge 09 (MedTech service)"},
      {"source", "shared"},   {"deviceMapping", *device},
      {"fhirMapping", *fhir}, {"messages", std::move(messages)}};
}

}  // namespace iomt::designer
