# mapping/device: device mapping templates -> measurements (expected A1-A22, A24).
iomt_add_test(test_device
  SOURCES unit/mapping/device/normalize_test.cpp
          unit/mapping/device/normalize_inline_test.cpp
          unit/mapping/device/iot_test.cpp
          unit/mapping/device/validation_test.cpp
          unit/mapping/device/expression_test.cpp
          unit/mapping/device/partition_hash_test.cpp
  LIBS iomt_mapping_device)
