# Writes OUTPUT, a header defining VITSWEEP_GIT_COMMIT: the short hash of the commit SOURCE_DIR is
# at, with "-modified" when tracked files differ from it ("unknown" outside a git checkout). Run
# at every build, so that a binary never names a commit it was not built from; the file is only
# rewritten when its text changes, so an unchanged commit recompiles nothing.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE commit
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE rev_parse_failed
  ERROR_QUIET)
if(rev_parse_failed OR NOT commit)
  set(commit "unknown")
else()
  execute_process(
    COMMAND git diff --quiet HEAD --
    WORKING_DIRECTORY ${SOURCE_DIR}
    RESULT_VARIABLE modified
    OUTPUT_QUIET ERROR_QUIET)
  if(modified)
    string(APPEND commit "-modified")
  endif()
endif()
set(text "#pragma once\n#define VITSWEEP_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} before)
endif()
if(NOT "${before}" STREQUAL "${text}")
  file(WRITE ${OUTPUT} "${text}")
endif()
