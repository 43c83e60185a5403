# JSONPath (Newtonsoft dialect) suites, iomt-spec §3.8.
iomt_add_test(test_jsonpath
  SOURCES unit/mapping/jsonpath/grammar_test.cpp
          unit/mapping/jsonpath/select_test.cpp
          unit/mapping/jsonpath/filter_test.cpp
          unit/mapping/jsonpath/compare_test.cpp
          unit/mapping/jsonpath/medtech_test.cpp
          unit/mapping/jsonpath/scan_test.cpp
          unit/mapping/jsonpath/regex_test.cpp
          unit/mapping/jsonpath/regex_limits_test.cpp
          unit/mapping/jsonpath/regex_translate_test.cpp
  LIBS iomt_mapping_jsonpath)
