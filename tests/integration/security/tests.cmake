# Security tests against real peers (issue 15; paths relative to tests/): Python scripts (standard
# library only) that start their own peers - the test token issuer (scripts/peers/token-issuer,
# https with a private CA made by openssl), a private FHIR server (requiring bearer tokens for
# fhir_auth) - and `iomtflow run`, and stop them again, also on failure. Ports: free ones, or
# IOMT_ISSUER_PORT for the issuer (so the two take the lock token-issuer: one at a time).
# `python3 X_it.py SCENARIO...` runs a subset.
iomt_test_program(IOMT_SECURITY_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
foreach(script jwt_ingest fhir_auth)
  add_test(NAME security_${script}
           COMMAND ${IOMT_SECURITY_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/${script}_it.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(security_${script} PROPERTIES
    LABELS "security"
    RESOURCE_LOCK token-issuer
    TIMEOUT 300
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endforeach()
