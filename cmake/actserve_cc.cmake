# actserve_cc(NAME <target> [LIBRARY | EXECUTABLE | TEST] SRCS ... DEPS ...): one target with the
# project's include root, warnings, -march and dependencies. TEST targets link GoogleTest and are
# registered with ctest, each case labelled with the target name (ctest -L spec_test).
include(GoogleTest)
cmake_path(SET ACTSERVE_ROOT NORMALIZE "${CMAKE_CURRENT_LIST_DIR}/..")

function(actserve_cc)
  cmake_parse_arguments(A "LIBRARY;EXECUTABLE;TEST" "NAME" "SRCS;DEPS" ${ARGN})
  if(A_LIBRARY)
    add_library(${A_NAME} STATIC ${A_SRCS})
  else()
    add_executable(${A_NAME} ${A_SRCS})
  endif()
  target_include_directories(${A_NAME} PUBLIC ${ACTSERVE_ROOT})
  target_compile_options(${A_NAME} PRIVATE -Wall -Wextra -Wno-missing-field-initializers
                         $<$<BOOL:${ACTSERVE_MARCH}>:-march=${ACTSERVE_MARCH}> -fno-math-errno)
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS})
  if(A_TEST)
    target_link_libraries(${A_NAME} PRIVATE GTest::gtest_main GTest::gmock)
    gtest_discover_tests(${A_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS ${A_NAME})
  endif()
endfunction()
