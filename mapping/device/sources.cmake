# mapping/device: device mapping templates -> measurements
iomt_mapping_area(device
  SOURCES placeholder.cpp
  DEPS iomt_mapping_json iomt_mapping_jsonpath iomt_mapping_jmespath)
