# Security tests of `iomtflow run` (issue 15), CTest label `security`: TLS and mTLS on ingest,
# connection limits and timeouts under abuse, SAS checks, the admin port and /readyz, the
# designer's bounds (RSS measured), and a grep of every output for secrets. The script starts its
# own peers (in-memory FHIR server, OAuth2 token server) on free ports and makes its certificates
# with the openssl CLI; `python3 security_it.py SCENARIO...` runs a subset. Reuses ../pipeline/harness.py.
iomt_test_program(IOMT_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
iomt_test_program(IOMT_IT_OPENSSL openssl "scripts/setup installs it")
add_test(NAME security_service
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/security_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(security_service PROPERTIES
  LABELS "security"
  TIMEOUT 900
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
