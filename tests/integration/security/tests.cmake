# Security tests of `iomtflow run` (issue 15), CTest label `security`. Python scripts (standard
# library only, paths relative to tests/) that start their own peers on free ports, make their
# certificates with the openssl CLI, and stop everything again, also on failure;
# `python3 X_it.py SCENARIO...` runs a subset. Reuse ../pipeline/harness.py.
#  - security_service: TLS and mTLS on ingest, connection limits and timeouts under abuse, SAS
#    checks, the admin port and /readyz, the designer's bounds (RSS measured), and a grep of every
#    output for secrets (in-memory FHIR server, OAuth2 token server).
#  - security_jwt_ingest, security_fhir_auth: auth: jwt on ingest and SMART Backend Services /
#    workload identity to FHIR against the test token issuer (scripts/peers/token-issuer, https
#    with a private CA) and a FHIR server requiring bearer tokens. The issuer takes IOMT_ISSUER_PORT
#    when set, so these two take the lock token-issuer: one at a time.
iomt_test_program(IOMT_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
iomt_test_program(IOMT_IT_OPENSSL openssl "scripts/setup installs it")
add_test(NAME security_service
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/security_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(security_service PROPERTIES
  LABELS "security"
  TIMEOUT 900
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
foreach(script jwt_ingest fhir_auth)
  add_test(NAME security_${script}
           COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/${script}_it.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(security_${script} PROPERTIES
    LABELS "security"
    RESOURCE_LOCK token-issuer
    TIMEOUT 300
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endforeach()
