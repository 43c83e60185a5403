# cmake -DNPM=... -DWEB_DIR=<repo>/designer -DOUT_DIR=<build>/.../dist -DSTAMP=... -P build_web.cmake
#
# Builds the designer's page into OUT_DIR. node_modules lives in the source tree (shared by every
# build directory), so the whole step holds a lock on WEB_DIR. `npm ci` runs only when
# package-lock.json is newer than the installed tree. An npm ci failure (no registry) leaves an
# empty OUT_DIR (the binary then serves the "not built" page); a type or build error is fatal.
foreach(v NPM WEB_DIR OUT_DIR STAMP)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "build_web.cmake: -D${v}=... is required")
  endif()
endforeach()

file(LOCK ${WEB_DIR} DIRECTORY GUARD PROCESS TIMEOUT 900 RESULT_VARIABLE lock_result)
if(NOT lock_result EQUAL 0)
  message(FATAL_ERROR "designer: cannot lock ${WEB_DIR}: ${lock_result}")
endif()

set(installed ${WEB_DIR}/node_modules/.package-lock.json)
if(NOT EXISTS ${installed} OR ${WEB_DIR}/package-lock.json IS_NEWER_THAN ${installed})
  message(STATUS "designer: npm ci")
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${WEB_DIR} RESULT_VARIABLE ci_result)
  if(NOT ci_result EQUAL 0)
    message(WARNING "designer: npm ci failed (${ci_result}); iomtflow will serve a page saying the designer was not built")
    file(REMOVE_RECURSE ${OUT_DIR})
    file(TOUCH ${STAMP})
    return()
  endif()
endif()

execute_process(COMMAND ${NPM} run --silent build -- --outDir ${OUT_DIR} --emptyOutDir --logLevel warn
                WORKING_DIRECTORY ${WEB_DIR} RESULT_VARIABLE build_result)
if(NOT build_result EQUAL 0)
  message(FATAL_ERROR "designer: npm run build failed (${build_result})")
endif()
file(TOUCH ${STAMP})
