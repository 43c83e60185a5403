# Unit suites of transport/amqp (sans-io: an in-memory broker, no socket, no clock). Paths are
# relative to this file so it works wherever it is included from.
if(TARGET iomt_transport_amqp)
  iomt_add_test(test_transport_amqp
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/message_mapper_test.cpp
    LIBS iomt_transport_amqp)
  iomt_add_test(test_transport_amqp_credit
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/credit_settlement_test.cpp
    LIBS iomt_transport_amqp)
  iomt_add_test(test_transport_amqp_consumer
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/consumer_test.cpp
    LIBS iomt_transport_amqp)
  iomt_add_test(test_transport_amqp_eventhubs
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/eventhubs_test.cpp
    LIBS iomt_transport_amqp)
  # The connection's attempt loop: an exception is logged, not dropped (loopback, no broker).
  iomt_add_test(test_transport_amqp_connection
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/connection_test.cpp
    LIBS iomt_transport_amqp)
  # Blob checkpoint store: connection strings, Shared Key signing vectors, SDK blob names.
  iomt_add_test(test_transport_amqp_blob_checkpoint
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/blob_checkpoint_test.cpp
    LIBS iomt_transport_amqp)
  # Dynamic partition ownership: the SDKs' balancing rule, simulated processors, the record layout.
  iomt_add_test(test_transport_amqp_partition_balancer
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/partition_balancer_test.cpp
    LIBS iomt_transport_amqp)
endif()
