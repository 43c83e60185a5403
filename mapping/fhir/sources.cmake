# mapping/fhir: FHIR destination templates -> Observation build and merge
iomt_mapping_area(fhir
  SOURCES
    compatibility.cpp
    dotnet_decimal.cpp
    fhir_datetime.cpp
    fhir_mapping.cpp
    identity_ids.cpp
    measurement_group.cpp
    observation_builder.cpp
    observation_group.cpp
    sampled_data.cpp
    template_loader.cpp
    text_util.cpp
    value_processor.cpp
    value_check.cpp
  DEPS iomt_mapping_json OpenSSL::Crypto)
