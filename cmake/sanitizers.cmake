# OTP_SANITIZE: "" (off), "address,undefined" (dev preset) or "thread" (tsan preset).
set(OTP_SANITIZE "" CACHE STRING "Sanitizers to build with (-fsanitize=...)")
if(OTP_SANITIZE)
  add_compile_options(-fsanitize=${OTP_SANITIZE} -fno-omit-frame-pointer)
  if(OTP_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
  endif()
  add_link_options(-fsanitize=${OTP_SANITIZE})
endif()
