// `iomtflow smart jwks --key FILE [--kid ID] [--alg RS384|ES384]`: the public JWK Set of the SMART
// Backend Services key (fhir.auth.mode smart), to register iomtflow as a backend client with a FHIR
// server (uploaded, or served at a JWKS URL). The kid printed is the one iomtflow's assertions
// carry: --kid, else the key's RFC 7638 thumbprint. The private key never leaves the file.
#include "net/jose/jwk.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"

#include <boost/json/serialize.hpp>

#include <iostream>

namespace iomt::cli {

int smart(int argc, char** argv, int first) {
  constexpr const char* usage = "usage: iomtflow smart jwks --key PRIVATE_KEY.pem [--kid ID] [--alg RS384|ES384]\n";
  if (argc <= first || std::string_view(argv[first]) != "jwks") {
    std::cerr << usage;
    return 2;
  }
  args a(argc, argv, first + 1, {});
  const auto key_file = a.get("key");
  if (!a.ok() || a.unknown({"key", "kid", "alg"}) || !key_file || !a.positionals().empty()) {
    std::cerr << usage;
    if (!a.ok()) std::cerr << "error: " << a.error() << '\n';
    return 2;
  }
  std::optional<net::jose::algorithm> alg;
  if (const auto name = a.get("alg")) {
    alg = net::jose::parse_algorithm(*name);
    if (!alg) {
      std::cerr << "error: --alg " << *name << " is not one of RS384, ES384, RS256, ES256\n";
      return 2;
    }
  }
  auto key = net::jose::load_signing_key_file(*key_file, alg, a.get("kid").value_or(""));
  if (!key) {
    std::cerr << "error: " << key.error() << '\n';
    return 2;
  }
  boost::json::object set;
  set["keys"] = boost::json::array{net::jose::public_jwk(*key)};
  std::cout << boost::json::serialize(set) << '\n';
  return 0;
}

}  // namespace iomt::cli
