# Unit suites of fhir/ (paths relative to tests/): sans-io parts, and the HTTP pool against a
# loopback server (127.0.0.1 only).
iomt_add_test(test_fhir_server
  SOURCES unit/fhir/main_test.cpp
          unit/fhir/retry_test.cpp
          unit/fhir/auth_test.cpp
          unit/fhir/search_test.cpp
          unit/fhir/write_plan_test.cpp
          unit/fhir/identity_flow_test.cpp
          unit/fhir/memory_exchange_test.cpp
          unit/fhir/http_pool_test.cpp
  LIBS iomt_fhir)
# SMART Backend Services and workload identity (issue 15).
iomt_add_test(test_fhir_smart
  SOURCES unit/fhir/main_test.cpp
          unit/fhir/smart_test.cpp
  LIBS iomt_fhir
  LABELS security)
