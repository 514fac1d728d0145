# Warnings apply to our own targets only: link otp::warnings PRIVATE.
add_library(otp_warnings INTERFACE)
add_library(otp::warnings ALIAS otp_warnings)
target_compile_options(otp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wold-style-cast
  -Wimplicit-fallthrough -Wnull-dereference
  # g++ 12 also fires this on C++20 designated initializers that leave out members with default
  # member initializers, which is the point of those defaults: every message struct that gains an
  # optional field would otherwise break every `{.a = ..., .b = ...}` in the tree.
  -Wno-missing-field-initializers)
