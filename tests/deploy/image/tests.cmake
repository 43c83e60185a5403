# Container image deploy/Dockerfile (issue 7).
#
# deploy_tools (fixture setup, FIXTURES_SETUP deploy_tools): deploy/ci/setup installs podman,
# buildah, mmdebstrap, runc, prometheus (promtool), yamllint from apt, helm + kubectl + the schema
# validators from npm (deploy/ci/package-lock.json) into build/deploy-tools of the source tree, and
# builds the local base image docker.io/library/debian:bookworm-slim. Every deploy test that needs
# a tool sets FIXTURES_REQUIRED deploy_tools and runs
#     eval "$("$IOMT_SOURCE_DIR/deploy/ci/setup" --print-env)"
# to get PATH (helm, kubectl first), CONTAINERS_CONF, IOMT_DEPLOY_TOOLS and IOMT_NODE_MODULES;
# promtool, prometheus, podman and yamllint are in /usr/bin.
add_test(NAME deploy_tools COMMAND bash ${CMAKE_SOURCE_DIR}/deploy/ci/setup)
set_tests_properties(deploy_tools PROPERTIES
  LABELS "deploy"
  TIMEOUT 900
  FIXTURES_SETUP deploy_tools
  RESOURCE_LOCK deploy_tools)

# Builds the image with podman from the repository and runs it read-only against the FHIR server
# (FHIR_URL from scripts/test): /healthz, /readyz, a workshop message POSTed (201) and its
# Observation found on the server.
# The build stage compiles the `ci` preset (same sources, -O2 -g -Werror, stripped) against the
# host's ccache, which scripts/test has just filled with the same objects: about 10 minutes of
# compiling on 2 cores become cache hits. The release preset (the Dockerfile's default) is
# built by `IOMT_IMAGE_PRESET=release IOMT_IMAGE_CCACHE= ctest -R deploy_image` (image.sh).
add_test(NAME deploy_image COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/image.sh)
set_tests_properties(deploy_image PROPERTIES
  LABELS "deploy"
  TIMEOUT 1800
  FIXTURES_REQUIRED deploy_tools
  RESOURCE_LOCK "podman_image;fhir-server"
  ENVIRONMENT "IOMT_SOURCE_DIR=${CMAKE_SOURCE_DIR};IOMT_SHARED_DIR=${IOMT_SHARED_DIR}")
