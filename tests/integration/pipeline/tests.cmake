# Integration tests of `iomtflow run` (paths relative to tests/): Python scripts (standard library
# only, /usr/bin/python3) that start iomtflow with a generated config, post Event Hubs REST
# messages with SAS, and check what lands in the real in-memory FHIR server. They use FHIR_URL
# (scripts/test starts the server) or start their own with scripts/peers/start-fhir-server.sh;
# oauth_it.py always starts its own FHIR server (requiring tokens) and the OAuth2 token server
# (scripts/peers/oauth). One CTest test per script; `python3 X_it.py SCENARIO...` runs a subset.
iomt_test_program(IOMT_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
foreach(script workshop merge errors oauth service trace)
  add_test(NAME integration_pipeline_${script}
           COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/${script}_it.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(integration_pipeline_${script} PROPERTIES
    LABELS "integration"
    RESOURCE_LOCK fhir-server
    TIMEOUT 240
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endforeach()
# Identity before template in `run`, and `mapping test --fhir-url` reading without writing (issue 13).
add_test(NAME integration_pipeline_identity_order
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/identity_order_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(integration_pipeline_identity_order PROPERTIES
  LABELS "integration"
  RESOURCE_LOCK fhir-server
  TIMEOUT 240
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
