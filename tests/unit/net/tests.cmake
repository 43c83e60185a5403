# Unit suites of net/ (paths relative to tests/): the TLS setup over a loopback socket.
iomt_add_test(test_net
  SOURCES unit/net/tls_context_test.cpp
  LIBS iomt_net)
# JOSE (net/jose): JWK, JWS, access token validation - every check of auth: jwt (issue 15).
iomt_add_test(test_net_jose
  SOURCES unit/net/jose_test.cpp
  LIBS iomt_net
  LABELS security)
