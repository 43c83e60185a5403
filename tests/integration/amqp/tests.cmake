# AMQP integration suites (iomt issue 5) against the real broker: RabbitMQ 3.10 + rabbitmq_amqp1_0
# over TLS with SASL PLAIN, started by scripts/test (AMQP_* in the environment) or by the suite
# itself (scripts/peers/start-amqp-broker.sh, data under the build tree). CTest label `amqp`; one
# broker at a time (RESOURCE_LOCK amqp-broker). Paths are relative to this file.
if(TARGET iomt_transport_amqp)
  iomt_add_test(test_amqp_integration
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/source_it.cpp
    LIBS iomt_transport_amqp)
  set_tests_properties(test_amqp_integration PROPERTIES LABELS "amqp" RESOURCE_LOCK amqp-broker TIMEOUT 400)
  # Event Hubs: the project's emulator (scripts/peers/eh-emulator, npm ci on first use), checked
  # against the official Azure SDK (@azure/event-hubs).
  iomt_add_test(test_amqp_eventhubs_integration
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/eventhubs_it.cpp
    LIBS iomt_transport_amqp)
  set_tests_properties(test_amqp_eventhubs_integration PROPERTIES LABELS "amqp" RESOURCE_LOCK eh-emulator TIMEOUT 300)
  # Event Hubs checkpoints in Azure Blob Storage against Azurite (scripts/peers/start-azurite.sh,
  # npm ci on first use; started and stopped by the suite on ports 10091/10092), and the source
  # resuming from them against the emulator (its own port 5689).
  iomt_add_test(test_amqp_blob_checkpoint_integration
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/blob_checkpoint_it.cpp
    LIBS iomt_transport_amqp)
  set_tests_properties(test_amqp_blob_checkpoint_integration PROPERTIES
    LABELS "amqp" RESOURCE_LOCK "eh-emulator;azurite" TIMEOUT 300)
endif()

# 50,000 messages RabbitMQ -> `iomtflow run` (source.amqp) -> FHIR server.
if(TARGET iomtflow AND TARGET iomtflow-bench-amqp)
  iomt_test_program(IOMT_AMQP_IT_PYTHON python3 "scripts/setup installs it" PATHS /usr/bin)
  add_test(NAME integration_amqp_fhir COMMAND ${IOMT_AMQP_IT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/amqp_fhir_it.py)
  set_tests_properties(integration_amqp_fhir PROPERTIES
    LABELS "amqp" RESOURCE_LOCK amqp-broker TIMEOUT 180
    ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_AMQP_TOOL=$<TARGET_FILE:iomtflow-bench-amqp>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endif()
