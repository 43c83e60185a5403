# mapping/jsonpath: Newtonsoft-dialect JSONPath (iomt-spec §3.8)
iomt_mapping_area(jsonpath
  SOURCES path.cpp parser.cpp evaluator.cpp jvalue_compare.cpp dotnet_text.cpp regex.cpp
  DEPS iomt_mapping_json)
