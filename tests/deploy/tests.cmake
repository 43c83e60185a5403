# Deployment artifacts (issue 7): container image, Helm chart, Grafana dashboard, Prometheus rules.
# Every test carries the CTest label `deploy`; the tools they need are installed by the
# `deploy_tools` fixture (deploy/ci/setup).
include(deploy/image/tests.cmake OPTIONAL)
include(deploy/helm/tests.cmake OPTIONAL)
include(deploy/monitoring/tests.cmake OPTIONAL)
