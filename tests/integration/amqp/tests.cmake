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
endif()
