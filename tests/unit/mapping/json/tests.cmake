# mapping/json unit suites (paths relative to tests/).
iomt_add_test(test_json
  SOURCES unit/mapping/json/main_test.cpp
          unit/mapping/json/reader_test.cpp
          unit/mapping/json/located_test.cpp
          unit/mapping/json/dotnet_test.cpp
          unit/mapping/json/writer_test.cpp
  LIBS iomt_mapping_json)
