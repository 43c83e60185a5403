# Integration suites of fhir/ (paths relative to tests/): against the real in-memory FHIR server,
# which the suite starts with scripts/peers/start-fhir-server.sh (or FHIR_URL), plus local
# fault-injecting / TLS / OAuth2 test servers. CTest label: integration. The suite empties the
# server ($reset) before each test, hence the lock shared with the other FHIR_URL users.
iomt_add_test(test_fhir_server_integration
  SOURCES integration/fhir/main_it.cpp
          integration/fhir/identity_it.cpp
          integration/fhir/observation_store_it.cpp
          integration/fhir/transport_it.cpp
          integration/fhir/write_plan_it.cpp
  LIBS iomt_fhir)
set_tests_properties(test_fhir_server_integration PROPERTIES LABELS "integration" RESOURCE_LOCK fhir-server TIMEOUT 300)
