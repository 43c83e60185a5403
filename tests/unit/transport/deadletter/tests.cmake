# Unit suite of transport/deadletter (iomt issue 4; paths relative to tests/).
iomt_add_test(test_transport_deadletter
  SOURCES unit/transport/deadletter/store_test.cpp
  LIBS iomt_transport)
# `iomtflow deadletter` (pipeline/commands/deadletter_command.cpp). Until the lead adds that file
# to iomt_pipeline, the test compiles it itself.
get_target_property(_iomt_pipeline_sources iomt_pipeline SOURCES)
set(_iomt_dl_cli_sources unit/transport/deadletter/cli_test.cpp)
if(NOT "commands/deadletter_command.cpp" IN_LIST _iomt_pipeline_sources)
  list(APPEND _iomt_dl_cli_sources ${CMAKE_SOURCE_DIR}/pipeline/commands/deadletter_command.cpp)
endif()
iomt_add_test(test_deadletter_cli
  SOURCES ${_iomt_dl_cli_sources}
  LIBS iomt_pipeline)
