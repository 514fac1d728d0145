find_package(GTest REQUIRED)
include(GoogleTest)

# Tests start the fake provider server with this interpreter. Version-manager shims (pyenv, asdf)
# are resolved to the real interpreter, so that the pid a test signals is the server's own.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
execute_process(COMMAND ${Python3_EXECUTABLE} -c "import sys; print(sys.executable)"
  OUTPUT_VARIABLE OTP_PYTHON3 OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)

# Optimised builds of the tests inline GoogleTest's and std::variant's internals into our test
# bodies, where g++ 12 reports -Wnull-dereference on pointers those libraries have checked. Test
# code only; linked after otp::warnings so that it comes later on the command line.
add_library(otp_test_warnings INTERFACE)
target_compile_options(otp_test_warnings INTERFACE -Wno-null-dereference)

# otp_add_test(name SOURCES a.cc... LIBS lib... LABELS unit|integration|e2e [TIMEOUT seconds])
function(otp_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} otp::options otp::warnings otp_test_warnings
                                        GTest::gtest GTest::gmock GTest::gtest_main)
  # Integration and e2e suites talk to the local stack: give discovery no say in their timing.
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()
