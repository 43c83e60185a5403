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

