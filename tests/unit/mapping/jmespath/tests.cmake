# mapping/jmespath suites (paths relative to tests/).
iomt_add_test(test_jmespath
  SOURCES unit/mapping/jmespath/compliance_test.cpp
          unit/mapping/jmespath/custom_functions_test.cpp
          unit/mapping/jmespath/selection_test.cpp
  LIBS iomt_mapping_jmespath)

# Differential test against Debian's python3-jmespath (run by /usr/bin/python3, which has it).
add_executable(jmespath_eval unit/mapping/jmespath/jmespath_eval.cpp)
target_link_libraries(jmespath_eval PRIVATE iomt_mapping_jmespath iomt_warnings)
target_include_directories(jmespath_eval PRIVATE ${CMAKE_SOURCE_DIR})
add_test(NAME jmespath_differential
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/unit/mapping/jmespath/differential_test.py
                 $<TARGET_FILE:jmespath_eval>)
set_tests_properties(jmespath_differential PROPERTIES LABELS unit)
# The libFuzzer target tests/fuzz/fuzz_jmespath.cpp is picked up by tests/fuzz/CMakeLists.txt.
