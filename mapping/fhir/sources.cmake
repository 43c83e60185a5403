# mapping/fhir: FHIR destination templates -> Observation build and merge
iomt_mapping_area(fhir
  SOURCES placeholder.cpp
  DEPS iomt_mapping_json OpenSSL::Crypto)
