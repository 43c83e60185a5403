# The mapping session behind `iomtflow mapping test` (workshop end to end) and the CLI binary.
iomt_add_test(test_mapping_cli SOURCES unit/mapping/cli/workshop_test.cpp unit/mapping/cli/identity_test.cpp LIBS iomt_pipeline)
add_test(NAME cli_contract COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/unit/mapping/cli/cli_contract_test.py $<TARGET_FILE:iomtflow>)
set_tests_properties(cli_contract PROPERTIES ENVIRONMENT "IOMT_SHARED_DIR=${IOMT_SHARED_DIR}" LABELS "unit")
