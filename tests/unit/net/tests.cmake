# Unit suites of net/ (paths relative to tests/): the TLS setup over a loopback socket.
iomt_add_test(test_net
  SOURCES unit/net/tls_context_test.cpp
  LIBS iomt_net)
