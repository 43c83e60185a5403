# transport/amqp: AMQP 1.0 / Event Hubs ingest (iomt issue 5) on Qpid Proton's protocol engine
# (Debian libqpid-proton11-dev; no CMake/pkg-config package: find the library by name). Its own
# static library so the rest of transport/ builds without Proton. Included from
# transport/CMakeLists.txt; paths are relative to this file.
find_library(IOMT_QPID_PROTON_LIB NAMES qpid-proton)
find_path(IOMT_QPID_PROTON_INCLUDE proton/connection_driver.h)
if(NOT IOMT_QPID_PROTON_LIB OR NOT IOMT_QPID_PROTON_INCLUDE)
  message(WARNING "Qpid Proton not found (apt install libqpid-proton11-dev, or scripts/setup): "
                  "the AMQP source (transport/amqp) is not built")
  return()
endif()
add_library(iomt_transport_amqp STATIC
  ${CMAKE_CURRENT_LIST_DIR}/error.cpp
  ${CMAKE_CURRENT_LIST_DIR}/value_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/message_mapper.cpp
  ${CMAKE_CURRENT_LIST_DIR}/settlement.cpp
  ${CMAKE_CURRENT_LIST_DIR}/engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/consumer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sender.cpp
  ${CMAKE_CURRENT_LIST_DIR}/source_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/connection_string.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/request_link.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/checkpoint_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/blob_auth.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/blob_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/blob_checkpoint_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/open_checkpoint_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/eventhubs_handler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/eventhubs_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/eventhubs_source_dynamic.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/partition_balancer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/eventhubs/blob_ownership_store.cpp)
target_include_directories(iomt_transport_amqp PUBLIC ${CMAKE_CURRENT_LIST_DIR}/../..)
target_include_directories(iomt_transport_amqp SYSTEM PUBLIC ${IOMT_QPID_PROTON_INCLUDE})
target_link_libraries(iomt_transport_amqp
  PUBLIC iomt_transport iomt_net iomt_boost ${IOMT_QPID_PROTON_LIB} OpenSSL::SSL OpenSSL::Crypto Threads::Threads
  PRIVATE iomt_warnings)
