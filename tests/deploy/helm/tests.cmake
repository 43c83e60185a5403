# Helm chart deploy/helm/iomtflow (issue 7): lint, render every documented value set, yamllint,
# Kubernetes + prometheus-operator schema validation, iomtflow accepting each rendered config, and
# the deliberate errors that must be caught. Tools come from the deploy_tools fixture.
add_test(NAME deploy_helm_chart COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/chart.sh)
set_tests_properties(deploy_helm_chart PROPERTIES
  LABELS "deploy"
  TIMEOUT 300
  FIXTURES_REQUIRED deploy_tools
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};IOMT_SHARED_DIR=${IOMT_SHARED_DIR}")
