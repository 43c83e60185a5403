# mapping/device: device mapping templates -> measurements
iomt_mapping_area(device
  SOURCES device_errors.cpp device_mapping.cpp dotnet_text.cpp expression.cpp extractor.cpp partition_hash.cpp scan_index.cpp
          template_compiler.cpp template_loader.cpp template_names.cpp template_reader.cpp
  DEPS iomt_mapping_json iomt_mapping_jsonpath iomt_mapping_jmespath)
