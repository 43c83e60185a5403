// Integration suites of fhir/ against the real in-memory FHIR server (CTest label integration).
// The server is started once for the module by scripts/peers/start-fhir-server.sh on a free port
// (or taken from FHIR_URL) and emptied with POST $reset before each test.
#define BOOST_TEST_MODULE fhir_integration
#include <boost/test/unit_test.hpp>

#include "fhir_test_support.hpp"

using iomt::fhir::test::fhir_server;
BOOST_TEST_GLOBAL_FIXTURE(fhir_server);
