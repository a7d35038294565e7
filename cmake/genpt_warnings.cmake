# genpt_warnings.cmake - the project's warning set, as errors.
#
# genpt_target_warnings(<target>) puts the warnings on one of genpt's own
# executables (tests, benchmarks, examples). Never call it on the INTERFACE
# library target: the flags would propagate into every consumer's build.
include_guard(GLOBAL)

function(genpt_target_warnings tgt)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${tgt} PRIVATE
      -Wall
      -Wextra
      -Wpedantic
      -Wshadow
      -Wconversion
      -Wsign-conversion
      -Wold-style-cast
      -Wnon-virtual-dtor
      -Werror)
  elseif(MSVC)
    target_compile_options(${tgt} PRIVATE /W4 /WX /permissive-)
  endif()
endfunction()
