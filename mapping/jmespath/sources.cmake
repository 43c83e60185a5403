# mapping/jmespath: JMESPath 2015 + MedTech custom functions
iomt_mapping_area(jmespath
  SOURCES placeholder.cpp
  DEPS iomt_mapping_json)
