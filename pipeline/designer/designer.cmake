# The mapping designer (issue 6): C++ API + routes in iomt_pipeline, and the web page from designer/
# built with npm (Vite) at build time and embedded into the binary. Included from
# pipeline/CMakeLists.txt after iomt_pipeline is defined.
#
# IOMT_DESIGNER_WEB (ON): build the page when npm is found. Without npm (or when `npm ci` cannot
# reach the registry) the build still succeeds and the binary serves a page saying the assets were
# not built; a TypeScript or Vite error fails the build.
option(IOMT_DESIGNER_WEB "Build the designer's web page with npm (Vite) and embed it into iomtflow" ON)
find_program(IOMT_NPM npm)

include(${CMAKE_SOURCE_DIR}/designer/sources.cmake)  # IOMT_DESIGNER_WEB_SOURCES (relative to designer/)

set(_designer_out ${CMAKE_CURRENT_BINARY_DIR}/designer)
set(_designer_dist ${_designer_out}/dist)
set(_designer_stamp ${_designer_out}/dist.stamp)
set(_designer_cpp ${_designer_out}/designer_assets.cpp)

# Host tool: the files of dist/ -> one C++ source.
add_executable(iomt_embed_assets ${CMAKE_CURRENT_SOURCE_DIR}/designer/embed_assets.cpp)
target_link_libraries(iomt_embed_assets PRIVATE iomt_warnings)

if(IOMT_DESIGNER_WEB AND IOMT_NPM)
  list(TRANSFORM IOMT_DESIGNER_WEB_SOURCES PREPEND ${CMAKE_SOURCE_DIR}/designer/ OUTPUT_VARIABLE _designer_web_deps)
  add_custom_command(
    OUTPUT ${_designer_stamp}
    COMMAND ${CMAKE_COMMAND} -DNPM=${IOMT_NPM} -DWEB_DIR=${CMAKE_SOURCE_DIR}/designer -DOUT_DIR=${_designer_dist}
            -DSTAMP=${_designer_stamp} -P ${CMAKE_CURRENT_SOURCE_DIR}/designer/build_web.cmake
    DEPENDS ${_designer_web_deps} ${CMAKE_CURRENT_SOURCE_DIR}/designer/build_web.cmake
    COMMENT "designer: npm ci (when needed) + vite build"
    VERBATIM)
else()
  if(NOT IOMT_NPM)
    message(STATUS "designer: npm not found; iomtflow will serve a page saying the designer was not built")
  endif()
  add_custom_command(
    OUTPUT ${_designer_stamp}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${_designer_dist}
    COMMAND ${CMAKE_COMMAND} -E touch ${_designer_stamp}
    COMMENT "designer: web page not built (IOMT_DESIGNER_WEB=${IOMT_DESIGNER_WEB}, npm: ${IOMT_NPM})"
    VERBATIM)
endif()

add_custom_command(
  OUTPUT ${_designer_cpp}
  COMMAND iomt_embed_assets ${_designer_dist} ${_designer_cpp}
  DEPENDS iomt_embed_assets ${_designer_stamp}
  COMMENT "designer: embedding the web page"
  VERBATIM)
# The generated literals are long by design.
set_source_files_properties(${_designer_cpp} PROPERTIES GENERATED TRUE COMPILE_OPTIONS "-Wno-overlength-strings")

target_sources(iomt_pipeline PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/designer/api.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/designer/examples.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/designer/routes.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/designer/static_files.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/designer/designer_command.cpp
  ${_designer_cpp})
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/designer/examples.cpp PROPERTIES
  COMPILE_DEFINITIONS "IOMT_DESIGNER_SOURCE_DIR=\"${CMAKE_SOURCE_DIR}\"")
