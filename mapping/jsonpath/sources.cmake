# Sources of mapping/jsonpath (paths relative to mapping/)
list(APPEND IOMT_MAPPING_SOURCES
)
