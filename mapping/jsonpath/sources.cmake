# mapping/jsonpath: Newtonsoft-dialect JSONPath
iomt_mapping_area(jsonpath
  SOURCES placeholder.cpp
  DEPS iomt_mapping_json)
