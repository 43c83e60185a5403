// Helpers shared by the test suites: where ../shared is, and reading files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace iomt::test {

// The shared folder (upstream vectors, conformance suites). CTest passes IOMT_SHARED_DIR.
inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("IOMT_SHARED_DIR");
  std::filesystem::path p = env && *env ? env : "../shared";
  if (!std::filesystem::is_directory(p / "vectors"))
    throw std::runtime_error("shared folder not found at '" + p.string() +
                             "' (set IOMT_SHARED_DIR or the CMake cache variable IOMT_SHARED_DIR)");
  return p;
}

inline std::filesystem::path source_dir() {
  const char* env = std::getenv("IOMT_SOURCE_DIR");
  return env && *env ? env : ".";
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A file of the upstream iomt-fhir template unit tests' TestInput folder.
inline std::string template_input(const std::string& name) {
  return read_file(shared_dir() / "vectors/iomt-fhir/test/Microsoft.Health.Fhir.Ingest.Template.UnitTests/TestInput" /
                   name);
}

}  // namespace iomt::test

namespace iomt::test {

inline std::filesystem::path workshop_dir() {
  return shared_dir() / "vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData";
}

// The workshop's Three-Sample-Message-Types.json holds three labelled messages ("=== VITALS ===").
// Returns {label, message text} in file order.
inline std::vector<std::pair<std::string, std::string>> workshop_messages(
    const char* file = "Three-Sample-Message-Types.json") {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(read_file(workshop_dir() / file));
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] == '=') {
      std::string label;
      for (char c : line)
        if (c != '=' && c != ' ' && c != '\r') label += c;
      out.emplace_back(label, "");
    } else if (!out.empty()) {
      out.back().second += line + "\n";
    }
  }
  return out;
}

}  // namespace iomt::test
