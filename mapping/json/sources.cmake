# Sources of mapping/json (paths relative to mapping/)
list(APPEND IOMT_MAPPING_SOURCES
)
list(APPEND IOMT_MAPPING_SOURCES json/value.cpp)
