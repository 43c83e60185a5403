# The mapping designer (issue 6), included from tests/CMakeLists.txt:
#   designer_api      its JSON API over HTTP (node only)                       LABELS designer
#   designer_browser  the page in Debian's Chromium driven by Playwright       LABELS browser
# What they share is in browser_support.mjs. The browser tests fail when Chromium
# (/usr/bin/chromium, installed by scripts/setup) or playwright-core (designer/node_modules,
# installed by the build's npm ci) is missing; without node all fail (iomt_test_program).
iomt_test_program(IOMT_NODE node "scripts/setup installs Node.js")
file(REAL_PATH "${CMAKE_CURRENT_LIST_DIR}" _designer_here)
cmake_path(SET _designer_web_dir NORMALIZE "${_designer_here}/../../designer")
set(_designer_env
  "IOMTFLOW=$<TARGET_FILE:iomtflow>"
  "IOMT_SHARED_DIR=${IOMT_SHARED_DIR}"
  "IOMT_DESIGNER_DIR=${_designer_web_dir}"
  "NODE_OPTIONS=--no-warnings")
add_test(NAME designer_api COMMAND ${IOMT_NODE} ${_designer_here}/designer_api_test.mjs)
set_tests_properties(designer_api PROPERTIES ENVIRONMENT "${_designer_env}" LABELS "designer" TIMEOUT 120)
# The FHIR identity panel (issue 13): Lookup against resources and against a live FHIR server that
# the test starts on a free port (scripts/peers/start-fhir-server.sh; the test fails when it cannot
# start).
add_test(NAME designer_lookup_browser COMMAND ${IOMT_NODE} ${_designer_here}/designer_lookup_test.mjs)
set_tests_properties(designer_lookup_browser PROPERTIES ENVIRONMENT "${_designer_env}" LABELS "browser;designer"
                     TIMEOUT 300 RESOURCE_LOCK designer_browser)
add_test(NAME designer_browser COMMAND ${IOMT_NODE} ${_designer_here}/designer_browser_test.mjs)
set_tests_properties(designer_browser PROPERTIES ENVIRONMENT "${_designer_env}" LABELS "browser;designer"
                     TIMEOUT 300 RESOURCE_LOCK designer_browser)
# The Live tab (issue 13): starts `iomtflow run` with designer.enabled and debug.trace.enabled on a
# free port (FHIR_URL, when set, adds a written event to the page).
add_test(NAME designer_live COMMAND ${IOMT_NODE} ${_designer_here}/designer_live_test.mjs)
set_tests_properties(designer_live PROPERTIES ENVIRONMENT "${_designer_env}" LABELS "browser;designer"
                     TIMEOUT 300 RESOURCE_LOCK designer_browser)
