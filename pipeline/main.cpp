// iomtflow: MedTech-compatible IoMT -> FHIR pipeline. Command dispatch.
#include "pipeline/commands/commands.hpp"

#include <cstring>
#include <iostream>
#include <string_view>

namespace {

constexpr const char* usage =
    "usage: iomtflow <command> [options]\n"
    "\n"
    "commands:\n"
    "  mapping validate --device-mapping D.json --fhir-mapping F.json [--json]\n"
    "      check MedTech device and FHIR destination mappings; every problem with its location\n"
    "  mapping test --device-mapping D.json --fhir-mapping F.json [--envelope] MESSAGE_FILE...\n"
    "      run device messages through the mappings; print measurements, Observations and errors\n"
    "  run --config FILE\n"
    "      the streaming service: Event Hubs-compatible HTTP ingest -> mappings -> FHIR server\n"
    "  designer [--port 8090] [--listen 127.0.0.1]\n"
    "      the mapping designer: a web page to build and test mappings against device messages\n"
    "  deadletter list|show ID|replay [--type T] [--since TIME] --config FILE\n"
    "      events the service could not process, kept with their reason; replay them after a fix\n"
    "  trace --config FILE [--device ID] [--request ID] [--limit N]\n"
    "      where did a device's data go? each recent event's path through the running service\n"
    "  smart jwks --key PRIVATE_KEY.pem [--kid ID] [--alg RS384|ES384]\n"
    "      the public JWK Set of the SMART Backend Services key, to register iomtflow with a FHIR server\n"
    "  expr (--jmespath EXPR | --jsonpath EXPR) [FILE]\n"
    "      evaluate one expression against a JSON document exactly as templates do\n"
    "  version\n";

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "mapping" && argc >= 3) {
    const std::string_view sub = argv[2];
    if (sub == "validate") return iomt::cli::mapping_validate(argc, argv, 3);
    if (sub == "test") return iomt::cli::mapping_test(argc, argv, 3);
  } else if (cmd == "run") {
    return iomt::cli::run(argc, argv, 2);
  } else if (cmd == "designer") {
    return iomt::cli::designer(argc, argv, 2);
  } else if (cmd == "deadletter") {
    return iomt::cli::deadletter(argc, argv, 2);
  } else if (cmd == "trace") {
    return iomt::cli::trace(argc, argv, 2);
  } else if (cmd == "smart") {
    return iomt::cli::smart(argc, argv, 2);
  } else if (cmd == "expr") {
    return iomt::cli::expr(argc, argv, 2);
  } else if (cmd == "version" || cmd == "--version") {
    std::cout << "iomtflow 0.1.0\n";
    return 0;
  } else if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << usage;
    return 0;
  }
  std::cerr << "error: unknown command '" << cmd << "'\n" << usage;
  return 2;
}
