# mapping/json: token model, readers, .NET formatting, writers
iomt_mapping_area(json
  SOURCES value.cpp
          reader.cpp
          lenient_reader.cpp
          dotnet.cpp
          date_sniff.cpp
          datetime_parse.cpp
          writer.cpp
          envelope.cpp
  DEPS iomt_mapping_text iomt_boost simdjson::simdjson)
