# Unit suites of transport/deadletter (iomt issue 4; paths relative to tests/).
iomt_add_test(test_transport_deadletter
  SOURCES unit/transport/deadletter/store_test.cpp
  LIBS iomt_transport)
# `iomtflow deadletter list|show|replay` (pipeline/commands/deadletter_command.cpp).
iomt_add_test(test_deadletter_cli
  SOURCES unit/transport/deadletter/cli_test.cpp
  LIBS iomt_pipeline)
# The store's sans-io parts: file names and drops, recent ids, policy, groups, lines (issue 12).
iomt_add_test(test_transport_deadletter_format
  SOURCES unit/transport/deadletter/format_test.cpp
  LIBS iomt_transport)
