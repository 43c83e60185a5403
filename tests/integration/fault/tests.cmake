# Fault tests of the durable buffer and dead-letter store (iomt issue 4): `iomtflow run` against
# the real FHIR server, killed, cut off, given a read-only or full disk, a corrupted segment.
# CTest label `fault` (scripts/test starts the FHIR server for it). Reuses ../pipeline/harness.py.
find_program(IOMT_IT_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT IOMT_IT_PYTHON)
  find_program(IOMT_IT_PYTHON NAMES python3)
endif()
add_test(NAME fault_durability
         COMMAND ${IOMT_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/durability_it.py
         WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(fault_durability PROPERTIES
  LABELS "fault"
  RESOURCE_LOCK fhir-server
  TIMEOUT 1800
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SHARED_DIR=${IOMT_SHARED_DIR};IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
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
