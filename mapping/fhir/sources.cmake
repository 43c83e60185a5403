# Sources of mapping/fhir (paths relative to mapping/)
list(APPEND IOMT_MAPPING_SOURCES
)
