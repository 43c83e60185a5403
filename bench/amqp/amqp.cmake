# bench/amqp: AMQP ingest -> FHIR vs the broker's raw drain rate (iomt issue 5); also the AMQP load
# generator (`amqp send`). The binary is named `amqp`; bench/amqp/run drives it with real peers.
# Paths are relative to this file (include it from bench/CMakeLists.txt).
if(TARGET iomt_transport_amqp)
  add_executable(iomtflow-bench-amqp ${CMAKE_CURRENT_LIST_DIR}/amqp_bench.cpp ${CMAKE_CURRENT_LIST_DIR}/bare_receiver.cpp)
  set_target_properties(iomtflow-bench-amqp PROPERTIES OUTPUT_NAME amqp)
  target_include_directories(iomtflow-bench-amqp PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../..)
  target_link_libraries(iomtflow-bench-amqp PRIVATE iomt_pipeline iomt_transport_amqp iomt_warnings)
endif()
