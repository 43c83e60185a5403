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

# The same suite built against the PROPOSED transport/event.hpp (outcome::failures, refused): the
# buffer and dead-letter sources are compiled into the test with proposed/ first on the include
# path. Remove once transport/event.hpp carries the proposal (test_transport_buffer_source then
# covers everything).
set(IOMT_BUFFER_SOURCES crc32c record checkpoint file_io recovery segment_log log_reader completion_tracker inbox durable_source)
set(_iomt_proposed_sources unit/transport/buffer/durable_source_test.cpp)
foreach(s ${IOMT_BUFFER_SOURCES})
  list(APPEND _iomt_proposed_sources ${CMAKE_SOURCE_DIR}/transport/buffer/${s}.cpp)
endforeach()
list(APPEND _iomt_proposed_sources ${CMAKE_SOURCE_DIR}/transport/deadletter/entry.cpp ${CMAKE_SOURCE_DIR}/transport/deadletter/store.cpp)
iomt_add_test(test_transport_buffer_proposed
  SOURCES ${_iomt_proposed_sources}
  LIBS iomt_transport)
target_include_directories(test_transport_buffer_proposed BEFORE PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/transport/buffer/proposed)
target_compile_definitions(test_transport_buffer_proposed PRIVATE IOMT_PROPOSED_OUTCOME=1)
