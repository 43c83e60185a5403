# Fault tests of the durable buffer and dead-letter store (iomt issue 4): `iomtflow run` against
# the real FHIR server, killed, cut off, given a read-only or full disk, a corrupted segment.
# CTest label `fault` (scripts/test starts the FHIR server for it). Reuses ../pipeline/harness.py.
iomt_test_program(IOMT_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
add_test(NAME fault_durability
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/durability_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(fault_durability PROPERTIES
  LABELS "fault"
  RESOURCE_LOCK fhir-server
  TIMEOUT 1800
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")

# A FHIR server that is slow, throttles and fails (iomt issue 12): 429, 503, slow answers, token
# endpoint down, 403, a poison event. Each scenario has its own time bound (SCENARIO_BOUND).
add_test(NAME fault_fhir_server
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/fhir_faults_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(fault_fhir_server PROPERTIES
  LABELS "fault"
  RESOURCE_LOCK fhir-server
  TIMEOUT 1800
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")

# The same 429 storm through the AMQP source (RabbitMQ): nothing settled as accepted before it is
# written, nothing released/modified/rejected or dead-lettered, the queue drains afterwards.
if(TARGET iomtflow AND TARGET iomtflow-bench-amqp)
  add_test(NAME fault_amqp_throttle COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/amqp_throttle_it.py)
  set_tests_properties(fault_amqp_throttle PROPERTIES
    LABELS "fault;amqp"
    RESOURCE_LOCK amqp-broker
    TIMEOUT 400
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_AMQP_TOOL=$<TARGET_FILE:iomtflow-bench-amqp>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()

# Bounds of the dead-letter store (issue 12): a flood of unmappable events stays under
# deadletter.max_bytes with every drop counted; the count policy stores nothing. About a minute.
add_test(NAME fault_deadletter_bounds
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/deadletter_bounds_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(fault_deadletter_bounds PROPERTIES
  LABELS "fault"
  RESOURCE_LOCK fhir-server
  TIMEOUT 300
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
