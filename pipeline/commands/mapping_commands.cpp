// `iomtflow mapping validate|test`: the mapping engine on files, for users migrating MedTech
// mappings and for the designer (the output object is a contract; see README "Mapping CLI").
#include "fhir/memory_exchange.hpp"
#include "mapping/device/device_mapping.hpp"
#include "mapping/fhir/fhir_mapping.hpp"
#include "mapping/json/dotnet.hpp"
#include "mapping/json/envelope.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"
#include "pipeline/commands/mapping_session.hpp"
#include "pipeline/config.hpp"
#include "pipeline/fhir_writer.hpp"

#include <boost/json.hpp>

#include <iostream>

namespace iomt::cli {

namespace {

constexpr int exit_usage = 2;
constexpr int exit_invalid = 1;

void print_errors(std::ostream& os, const std::string& file, const char* what, const mapping::template_errors& errors) {
  for (const auto& e : errors) {
    os << file;
    if (e.pos.line) os << ':' << e.pos.line << ':' << e.pos.column;
    os << ": " << (e.warning ? "warning" : "error") << ": " << what;
    if (e.template_index >= 0) os << " template[" << e.template_index << ']';
    if (!e.property.empty()) os << " property '" << e.property << '\'';
    os << ": " << e.type << ": " << e.full_message() << '\n';
  }
}

struct loaded {
  pipeline::mapping_session session;
  bool valid = false;
};

// Loads both mappings; prints every problem with its location to `os`.
std::optional<loaded> load_mappings(const args& a, std::ostream& os, int& exit_code) {
  auto dpath = a.get("device-mapping"), fpath = a.get("fhir-mapping");
  if (!dpath || !fpath) {
    std::cerr << "error: --device-mapping and --fhir-mapping are required\n";
    exit_code = exit_usage;
    return std::nullopt;
  }
  std::string err;
  auto dtext = read_input(*dpath, err);
  auto ftext = dtext ? read_input(*fpath, err) : std::nullopt;
  if (!dtext || !ftext) {
    std::cerr << "error: " << err << '\n';
    exit_code = exit_usage;
    return std::nullopt;
  }
  loaded l{pipeline::mapping_session::load(*dtext, *ftext)};
  print_errors(os, *dpath, "device mapping", l.session.device_errors());
  print_errors(os, *fpath, "FHIR mapping", l.session.fhir_errors());
  l.valid = l.session.valid();
  return l;
}

}  // namespace

int mapping_validate(int argc, char** argv, int first) {
  args a(argc, argv, first, {"json"});
  if (!a.ok() || a.unknown({"device-mapping", "fhir-mapping", "json"})) {
    std::cerr << "usage: iomtflow mapping validate --device-mapping D.json --fhir-mapping F.json [--json]\n";
    if (!a.ok()) std::cerr << "error: " << a.error() << '\n';
    return exit_usage;
  }
  int code = 0;
  auto l = load_mappings(a, a.has("json") ? std::cerr : std::cout, code);
  if (!l) return code;
  if (a.has("json")) {
    std::cout << json::to_pretty_string(l->session.validation_report()) << '\n';
  } else if (l->valid) {
    std::cout << "valid: " << l->session.device().template_count() << " device template(s), "
              << l->session.fhir().type_names().size() << " FHIR template(s)\n";
  }
  return l->valid ? 0 : exit_invalid;
}

namespace {

constexpr const char* test_usage =
    "usage: iomtflow mapping test --device-mapping D.json --fhir-mapping F.json [--envelope]\n"
    "                            [--device-identifier-system URI] [--issued ISO-TIME]\n"
    "                            [--identity Lookup|Create|LookupWithEncounter]\n"
    "                            [--resources FILE | --fhir-url URL [--config FILE] | --config FILE]\n"
    "                            MESSAGE_FILE...\n";

// --identity, --resources, --fhir-url, --config: where identities are resolved (issue 13).
// Returns false (after printing why) on a usage error.
bool read_identity_source(const args& a, pipeline::test_options& opt) {
  std::optional<pipeline::service_config> config;
  if (auto path = a.get("config")) {
    auto c = pipeline::load_config(*path);
    if (!c) {
      std::cerr << "error: --config " << *path << ": " << c.error().field << ": " << c.error().message << '\n';
      return false;
    }
    config = std::move(*c);
  }
  const auto resources = a.get("resources");
  const auto url = a.get("fhir-url");
  if (resources && (url || config)) {
    std::cerr << "error: --resources and --fhir-url/--config are exclusive: the identities come from the file "
                 "or from the server\n";
    return false;
  }
  std::string mode_text = config ? config->fhir.identity : "Create";
  if (auto m = a.get("identity")) mode_text = *m;
  auto mode = fhir::parse_identity_mode(mode_text);
  if (!mode) {
    std::cerr << "error: --identity: expected Lookup, Create or LookupWithEncounter, not '" << mode_text << "'\n";
    return false;
  }
  opt.identity.mode = *mode;
  if (config && !a.get("device-identifier-system"))
    opt.device_identifier_system = config->fhir.device_identifier_system;
  if (resources) {
    std::string err;
    auto text = read_input(*resources, err);
    if (!text) {
      std::cerr << "error: " << err << '\n';
      return false;
    }
    auto parsed = fhir::read_resources(*text);
    if (!parsed) {
      std::cerr << "error: --resources " << *resources << ": " << parsed.error().message << '\n';
      return false;
    }
    opt.identity.resources = std::move(*parsed);
  }
  if (url || config) {
    // The same client, auth and TLS options as `run` (fhir section of the service config); only
    // searches are sent: what Create mode would write stays in memory (memory_exchange).
    pipeline::fhir_config f = config ? config->fhir : pipeline::fhir_config{};
    if (!config) f.max_attempts = 2;  // a test command: say soon that the server does not answer
    if (url) f.url = *url;
    opt.identity.server = pipeline::make_client_options(f);
  }
  return true;
}

}  // namespace

int mapping_test(int argc, char** argv, int first) {
  args a(argc, argv, first, {"envelope"});
  if (!a.ok() ||
      a.unknown({"device-mapping", "fhir-mapping", "envelope", "device-identifier-system", "issued", "identity",
                 "resources", "fhir-url", "config"}) ||
      a.positionals().empty()) {
    std::cerr << test_usage;
    if (!a.ok()) std::cerr << "error: " << a.error() << '\n';
    return exit_usage;
  }
  int code = 0;
  auto l = load_mappings(a, std::cerr, code);
  if (!l) return code;
  if (!l->valid) {
    std::cerr << "error: the mappings are invalid; nothing was run\n";
    return exit_invalid;
  }
  pipeline::test_options opt;
  opt.envelope = a.has("envelope");
  opt.device_identifier_system = a.get("device-identifier-system").value_or("");
  if (!read_identity_source(a, opt)) return exit_usage;
  if (auto issued = a.get("issued")) {
    auto t = json::parse_datetime(*issued);
    if (!t) {
      std::cerr << "error: --issued: not a date/time: " << *issued << '\n';
      return exit_usage;
    }
    opt.issued = *t;
  }
  std::vector<pipeline::message_input> inputs;
  for (const std::string& file : a.positionals()) {
    std::string err;
    auto text = read_input(file, err);
    if (!text) {
      std::cerr << "error: " << err << '\n';
      return exit_usage;
    }
    pipeline::split_messages(file, *text, inputs);
  }
  auto out = l->session.run_test(inputs, opt);
  if (!out) {
    std::cerr << "error: " << out.error().type << ": " << out.error().message << '\n';
    return exit_usage;
  }
  std::cout << json::to_pretty_string(*out) << '\n';
  return 0;
}

}  // namespace iomt::cli
