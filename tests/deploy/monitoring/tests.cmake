# Grafana dashboard and Prometheus alert rules (issue 7, item 3): deploy/grafana, deploy/prometheus.
#   deploy_monitoring_static  promtool check/test rules, PrometheusRule in sync, dashboard structure
#                             and PromQL syntax, each with deliberately broken inputs (offline, ~8 s)
#   deploy_monitoring_live    a real Prometheus scraping `iomtflow run` under load (HTTP, AMQP and Event
#                             Hubs sources): every dashboard and rule expression must return data;
#                             misspelled metrics must fail (~25 s with the peers of scripts/test, ~40 s
#                             when it starts its own broker)
# The scripts run /usr/bin/python3 (Debian's). Tools (prometheus/promtool, python3-yaml) come from
# the deploy_tools fixture (deploy/ci/setup). bench/amqp's `amqp send` (when built) fills the AMQP queue.
# The live test writes to the shared FHIR server (and injects faults into it) and attaches to the
# shared broker (which the AMQP tests restart): RESOURCE_LOCK fhir-server and amqp-broker. It starts
# its own Event Hubs emulator (scripts/peers/eh-emulator, free port; node) and shares that folder's
# npm packages (npm ci on first use) with the Event Hubs integration tests: RESOURCE_LOCK eh-emulator.
add_test(NAME deploy_monitoring_static COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/static.sh)
set_tests_properties(deploy_monitoring_static PROPERTIES
  LABELS "deploy;monitoring"
  TIMEOUT 120
  FIXTURES_REQUIRED deploy_tools
  ENVIRONMENT "IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
add_test(NAME deploy_monitoring_live COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/live.sh)
set_tests_properties(deploy_monitoring_live PROPERTIES
  LABELS "deploy;monitoring"
  TIMEOUT 240
  FIXTURES_REQUIRED deploy_tools
  RESOURCE_LOCK "fhir-server;amqp-broker;eh-emulator"
  ENVIRONMENT "IOMTFLOW=$<TARGET_FILE:iomtflow>;IOMT_AMQP_TOOL=$<$<TARGET_EXISTS:iomtflow-bench-amqp>:$<TARGET_FILE:iomtflow-bench-amqp>>;IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};IOMT_SHARED_DIR=${IOMT_SHARED_DIR};PYTHONDONTWRITEBYTECODE=1")
