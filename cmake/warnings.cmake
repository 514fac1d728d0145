# Warnings apply to our own targets only: link otp::warnings PRIVATE.
add_library(otp_warnings INTERFACE)
add_library(otp::warnings ALIAS otp_warnings)
target_compile_options(otp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wold-style-cast
  -Wimplicit-fallthrough -Wnull-dereference)
