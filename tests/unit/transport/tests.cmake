# Unit suites of transport/ (paths relative to tests/). The server suites only use 127.0.0.1.
iomt_add_test(test_transport_http_sas
  SOURCES unit/transport/http/sas_test.cpp
          unit/transport/http/encoding_test.cpp
  LIBS iomt_transport)
iomt_add_test(test_transport_http_ingest
  SOURCES unit/transport/http/json_scan_test.cpp
          unit/transport/http/eventhub_request_test.cpp
  LIBS iomt_transport)
iomt_add_test(test_transport_http_server
  SOURCES unit/transport/http/server_test.cpp
  LIBS iomt_transport)
# Final outcomes for sources that keep their own copy: retry transient, dead-letter permanent (issue 12).
iomt_add_test(test_transport_retrying_sink
  SOURCES unit/transport/retrying_sink_test.cpp
  LIBS iomt_transport)
# Durable buffer and dead-letter store (iomt issue 4).
include(unit/transport/buffer/tests.cmake OPTIONAL)
include(unit/transport/deadletter/tests.cmake OPTIONAL)
include(unit/transport/amqp/tests.cmake OPTIONAL)
# auth: jwt on ingest (issue 15): answers, cache, refresh schedule.
iomt_add_test(test_transport_http_bearer
  SOURCES unit/transport/http/bearer_auth_test.cpp
  LIBS iomt_transport
  LABELS security)
