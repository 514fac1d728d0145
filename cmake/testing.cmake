find_package(GTest REQUIRED)
include(GoogleTest)

# otp_add_test(name SOURCES a.cc... LIBS lib... LABELS unit|integration|e2e)
function(otp_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} otp::options otp::warnings GTest::gtest
                                        GTest::gmock GTest::gtest_main)
  # Integration and e2e suites talk to the local stack: give discovery no say in their timing.
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
