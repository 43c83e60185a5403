// The iomtflow subcommands. Each returns the process exit code.
#pragma once

namespace iomt::cli {

// iomtflow mapping validate --device-mapping D.json --fhir-mapping F.json [--json]
int mapping_validate(int argc, char** argv, int first);
// iomtflow mapping test --device-mapping D.json --fhir-mapping F.json [--envelope] MESSAGE_FILE...
int mapping_test(int argc, char** argv, int first);
// iomtflow expr (--jmespath EXPR | --jsonpath EXPR) [FILE]
int expr(int argc, char** argv, int first);
// iomtflow run --config FILE
int run(int argc, char** argv, int first);
// iomtflow deadletter list|show|replay ... (--config FILE | --dir DIR)
int deadletter(int argc, char** argv, int first);
// iomtflow trace --config FILE [--device ID] [--limit N] [--json] (the service's event trace)
int trace(int argc, char** argv, int first);
// iomtflow designer [--port 8090] [--listen 127.0.0.1] [--shared-dir DIR] (pipeline/designer)
int designer(int argc, char** argv, int first);
// iomtflow smart jwks --key FILE [--kid ID] [--alg RS384|ES384]: the SMART key's public JWK Set
int smart(int argc, char** argv, int first);

}  // namespace iomt::cli
