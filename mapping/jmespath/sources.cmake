# Sources of mapping/jmespath (paths relative to mapping/)
list(APPEND IOMT_MAPPING_SOURCES
)
