# mapping/json: token model, readers, .NET formatting, writers
iomt_mapping_area(json
  SOURCES value.cpp
  DEPS iomt_boost simdjson::simdjson)
