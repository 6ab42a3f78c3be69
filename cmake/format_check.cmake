# format_test: the C++ files git tracks must be formatted as .clang-format says (clang-format
# --dry-run -Werror). Part of ctest, so the README's test command checks it. `clang-format -i` on
# the files it names fixes them.
if(ACTSERVE_BUILD_TESTS)
  add_test(NAME format_test
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_format.sh ${CMAKE_CURRENT_LIST_DIR}/..)
  set_tests_properties(format_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
