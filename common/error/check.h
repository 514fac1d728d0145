#pragma once

#include <cstdio>
#include <cstdlib>

/// Aborts on a broken invariant (a bug), never on bad input: bad input is an `otp::Error`.
#define OTP_CHECK(cond)                                                                   \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "OTP_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (false)
