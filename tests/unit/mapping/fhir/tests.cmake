# mapping/fhir: FHIR mapping load, grouping, Observation build/merge (expected B, C, D2, E4).
iomt_add_test(test_fhir_mapping
  SOURCES unit/mapping/fhir/main_test.cpp
          unit/mapping/fhir/template_load_test.cpp
          unit/mapping/fhir/grouping_test.cpp
          unit/mapping/fhir/sampled_data_test.cpp
          unit/mapping/fhir/observation_test.cpp
  LIBS iomt_mapping_fhir)
