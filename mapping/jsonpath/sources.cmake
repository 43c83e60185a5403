# mapping/jsonpath: Newtonsoft-dialect JSONPath (iomt-spec §3.8)
iomt_mapping_area(jsonpath
  SOURCES path.cpp parser.cpp evaluator.cpp jvalue_compare.cpp dotnet_text.cpp regex.cpp regex_translate.cpp
  DEPS iomt_mapping_json)
# `=~` runs on PCRE2 (regex.cpp); its header stays private to that file.
target_link_libraries(iomt_mapping_jsonpath PRIVATE PkgConfig::PCRE2)
