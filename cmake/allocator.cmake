# otp::allocator: what the service executables allocate with. jemalloc (Debian libjemalloc-dev)
# in builds without sanitizers (ASan and TSan bring their own malloc); glibc's otherwise or
# with -DOTP_JEMALLOC=OFF. Why: docs/decisions/0010-jemalloc.md.
option(OTP_JEMALLOC "Link the service executables with jemalloc (ignored with sanitizers)" ON)
add_library(otp_allocator INTERFACE)
add_library(otp::allocator ALIAS otp_allocator)
if(OTP_JEMALLOC AND NOT OTP_SANITIZE)
  find_library(OTP_JEMALLOC_LIBRARY jemalloc REQUIRED)
  # Linked as a whole so that its malloc replaces glibc's for the process.
  target_link_libraries(otp_allocator INTERFACE ${OTP_JEMALLOC_LIBRARY})
  message(STATUS "otp: service executables use jemalloc (${OTP_JEMALLOC_LIBRARY})")
endif()
