# compile_and_run.cmake - the freestanding_run ctest (issue 10, defect 6):
# builds tests/freestanding/freestanding_run.cpp as a static -nostdlib
# program (its own _start and mem* functions, no C or C++ runtime), runs it
# and fails unless it exits 0. A non-zero status names the failed check:
# 10 * format + step, see freestanding_run.cpp.
#
#   cmake -DCXX=<compiler> -DSRC=<source> -DINCLUDE=<include dir>
#         -DOUT=<executable> -P compile_and_run.cmake
foreach(v CXX SRC INCLUDE OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_and_run.cmake: -D${v}=... is required")
  endif()
endforeach()

execute_process(
  COMMAND ${CXX} -std=c++20 -ffreestanding -fno-exceptions -fno-rtti
          -nostdlib -static -fno-stack-protector -fno-pie -O2
          -Wall -Wextra -Werror
          -I${INCLUDE} ${SRC} -o ${OUT}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "freestanding_run: compiling and linking ${SRC} failed (${rc})")
endif()

execute_process(COMMAND ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "freestanding_run: ${OUT} exited with ${rc} (the failed check's number)")
endif()
message(STATUS "freestanding_run: every format created, mapped, translated and unmapped")
