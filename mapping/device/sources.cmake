# Sources of mapping/device (paths relative to mapping/)
list(APPEND IOMT_MAPPING_SOURCES
)
