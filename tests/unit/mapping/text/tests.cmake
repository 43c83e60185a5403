# mapping/text: the shared ASCII helpers (mapping/text/ascii.hpp).
iomt_add_test(test_mapping_text
  SOURCES unit/mapping/text/ascii_test.cpp
  LIBS iomt_mapping_text)
