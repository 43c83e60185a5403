# mapping/jmespath: JMESPath 2015 + MedTech custom functions
iomt_mapping_area(jmespath
  SOURCES
    lexer.cpp
    parser.cpp
    evaluator.cpp
    value_ops.cpp
    functions.cpp
    builtin_functions.cpp
    custom_functions.cpp
    expression.cpp
  DEPS iomt_mapping_json)
