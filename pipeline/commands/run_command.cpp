// `iomtflow run --config FILE`: parses the command line and the configuration, loads the
// mappings, and runs the service (pipeline/service.hpp). Exit status: 0 after SIGTERM/SIGINT and a
// clean stop, 1 for invalid mappings, 2 for usage, configuration and start-up errors.
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"
#include "pipeline/config.hpp"
#include "pipeline/log.hpp"
#include "pipeline/service.hpp"

#include <iostream>

namespace iomt::cli {

namespace {

std::string load_file(const std::string& path, const char* what) {
  std::string err;
  auto text = read_input(path, err);
  if (!text) throw std::runtime_error(std::string(what) + ": " + err);
  return *text;
}

}  // namespace

int run(int argc, char** argv, int first) {
  args a(argc, argv, first, {});
  if (!a.ok() || a.unknown({"config"}) || !a.get("config")) {
    std::cerr << "usage: iomtflow run --config FILE\n";
    return 2;
  }
  auto cfg = pipeline::load_config(*a.get("config"));
  if (!cfg) {
    std::cerr << "error: config: " << cfg.error().field << ": " << cfg.error().message << '\n';
    return 2;
  }
  log::level lvl{};
  log::parse_level(cfg->log.level, lvl);
  log::set_level(lvl);
  log::set_rate_limit(cfg->log.error_burst, cfg->log.error_interval);

  std::shared_ptr<const mapping::device::device_mapping> device;
  std::shared_ptr<const mapping::fhir::fhir_mapping> fhir_map;
  try {
    auto d = mapping::device::device_mapping::load(load_file(cfg->mapping.device_mapping, "mapping.device"));
    auto f = mapping::fhir::fhir_mapping::load(load_file(cfg->mapping.fhir_mapping, "mapping.fhir"));
    for (const auto& e : d.errors)
      std::cerr << cfg->mapping.device_mapping << ": " << (e.warning ? "warning" : "error") << ": " << e.type << ": "
                << e.full_message() << '\n';
    for (const auto& e : f.errors)
      std::cerr << cfg->mapping.fhir_mapping << ": " << (e.warning ? "warning" : "error") << ": " << e.type << ": "
                << e.full_message() << '\n';
    if (!d.valid() || !f.valid()) {
      std::cerr << "error: the mappings are invalid (iomtflow mapping validate shows the same errors)\n";
      return 1;
    }
    device = d.mapping;
    fhir_map = f.mapping;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  }

  auto service = pipeline::service::create(*cfg, std::move(device), std::move(fhir_map));
  if (!service) {
    std::cerr << "error: " << service.error().message << '\n';
    return service.error().exit_code;
  }
  return (*service)->run();
}

}  // namespace iomt::cli
