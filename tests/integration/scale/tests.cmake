# Scale-out with dynamic partition ownership (iomt issue 14): `iomtflow run` replicas sharing an
# 8-partition hub of the project's Event Hubs emulator, ownership records and checkpoints in
# Azurite, Observations on the in-memory FHIR server. Each test starts and stops its own peers on
# free ports. CTest label `scale`. They share the locks of the amqp suites' emulator and Azurite:
# not for ports (theirs are free ones) but because the first user of each installs its npm
# packages into the source tree, and two `npm ci` in one folder at once would break both.
if(TARGET iomtflow)
  iomt_test_program(IOMT_SCALE_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
  add_test(NAME integration_scale_dynamic_ownership
    COMMAND ${IOMT_SCALE_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/scale_it.py)
  set_tests_properties(integration_scale_dynamic_ownership PROPERTIES
    LABELS "scale" RESOURCE_LOCK "scale-peers;eh-emulator;azurite" TIMEOUT 420
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()
# An Azure SDK processor (its own BlobCheckpointStore, npm @azure/eventhubs-checkpointstore-blob)
# and an iomtflow replica balance one consumer group and never read one partition together.
if(TARGET iomtflow)
  add_test(NAME integration_scale_sdk_interop
    COMMAND ${IOMT_SCALE_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/sdk_interop_it.py)
  set_tests_properties(integration_scale_sdk_interop PROPERTIES
    LABELS "scale" RESOURCE_LOCK "scale-peers;eh-emulator;azurite" TIMEOUT 300
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()
