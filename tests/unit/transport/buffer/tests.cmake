# Unit suites of transport/buffer (the durable buffer, iomt issue 4; paths relative to tests/).
# The log suites use real files in a temporary directory; disk errors are injected.
iomt_add_test(test_transport_buffer_record
  SOURCES unit/transport/buffer/record_test.cpp
  LIBS iomt_transport)
iomt_add_test(test_transport_buffer_log
  SOURCES unit/transport/buffer/segment_log_test.cpp
  LIBS iomt_transport)
iomt_add_test(test_transport_buffer_source
  SOURCES unit/transport/buffer/durable_source_test.cpp
  LIBS iomt_transport)

# The dead-letter and redelivery cases need transport::outcome::failures / refused (proposed in
# iomt issue 4). Once transport/event.hpp has them, test_transport_buffer_source runs them; until
# then the same suite is also built against the proposed header (proposed/ first on the include
# path, the buffer and dead-letter sources compiled into the test). Delete proposed/ afterwards.
file(READ ${CMAKE_SOURCE_DIR}/transport/event.hpp _iomt_event_hpp)
if(_iomt_event_hpp MATCHES "struct event_failure")
  target_compile_definitions(test_transport_buffer_source PRIVATE IOMT_PROPOSED_OUTCOME=1)
else()
  set(_iomt_proposed_sources unit/transport/buffer/durable_source_test.cpp)
  foreach(s crc32c record checkpoint file_io recovery segment_log log_reader completion_tracker inbox durable_source)
    list(APPEND _iomt_proposed_sources ${CMAKE_SOURCE_DIR}/transport/buffer/${s}.cpp)
  endforeach()
  list(APPEND _iomt_proposed_sources ${CMAKE_SOURCE_DIR}/transport/deadletter/entry.cpp
                                     ${CMAKE_SOURCE_DIR}/transport/deadletter/store.cpp)
  iomt_add_test(test_transport_buffer_proposed
    SOURCES ${_iomt_proposed_sources}
    LIBS iomt_transport)
  target_include_directories(test_transport_buffer_proposed BEFORE PRIVATE ${CMAKE_CURRENT_LIST_DIR}/proposed)
  target_compile_definitions(test_transport_buffer_proposed PRIVATE IOMT_PROPOSED_OUTCOME=1)
endif()
