# run_qemu.cmake - the ctest driver of the genpt bare-metal kernels
# (issue 14): boots one kernel under QEMU, captures what it writes to its
# serial port into a file, prints it, and decides.
#
#   cmake -DQEMU=<qemu-system-*> -DQEMU_PKG=<Debian package>
#         -DCXX=<kernel compiler> -DCXX_PKG=<Debian package>
#         -DKERNEL=<image> -DLOG=<serial log file> -DEXPECT=<pass lines>
#         -DMODE=normal|corrupt -DQEMU_ARGS="arg|arg|..." [-DTIMEOUT_S=60]
#         [-DEXIT_STATUS=<n>]
#         -P run_qemu.cmake
#
# normal:  passes only when the log has "genpt-bm: done <P> passed, 0
#          failed", no FAIL line, and exactly EXPECT "...: pass" lines with
#          P = EXPECT (a kernel that skipped checks fails), and QEMU exited
#          with EXIT_STATUS where one is given (AArch64 semihosting SYS_EXIT;
#          x86's isa-debug-exit status is not checked: the done line is).
# corrupt: the negative control (kernel built with GENPT_BM_CORRUPT): passes
#          only when the kernel started (its "genpt-bm: start" line) and the
#          normal verdict would be "fail": a FAIL line, or no done line.
# A missing QEMU or compiler fails the test with the Debian package to
# install; nothing is ever skipped.
foreach(v QEMU QEMU_PKG CXX CXX_PKG KERNEL LOG EXPECT MODE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_qemu.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT DEFINED TIMEOUT_S)
  set(TIMEOUT_S 60)
endif()

if(NOT CXX OR CXX MATCHES "NOTFOUND$")
  message(FATAL_ERROR "genpt-bm: no compiler for the kernel was found when CMake configured: "
                      "install the Debian package ${CXX_PKG} (apt-get install ${CXX_PKG}) and reconfigure")
endif()
if(NOT QEMU OR QEMU MATCHES "NOTFOUND$" OR NOT EXISTS "${QEMU}")
  message(FATAL_ERROR "genpt-bm: QEMU was not found (${QEMU}): install the Debian package "
                      "${QEMU_PKG} (apt-get install ${QEMU_PKG}) and reconfigure")
endif()
if(NOT EXISTS "${KERNEL}")
  message(FATAL_ERROR "genpt-bm: ${KERNEL} is not built: build the target that makes it "
                      "(cmake --build <build dir>) first")
endif()

string(REPLACE "|" ";" qemu_args "${QEMU_ARGS}")
file(REMOVE "${LOG}")
# -no-reboot in the arguments turns a triple fault into an exit; TIMEOUT
# kills a kernel that hangs.
execute_process(
  COMMAND "${QEMU}" ${qemu_args} -serial "file:${LOG}" -kernel "${KERNEL}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT ${TIMEOUT_S})
set(log "")
if(EXISTS "${LOG}")
  file(READ "${LOG}" log)
endif()
message("---- serial output of ${KERNEL} (QEMU status: ${rc}) ----\n${log}---- end ----")
if(out OR err)
  message("QEMU said:\n${out}${err}")
endif()

# Count per line: "genpt-bm: <name>: pass" and "genpt-bm: <name>: FAIL ...".
string(REPLACE ";" "," log_nosemi "${log}")
string(REPLACE "\n" ";" lines "${log_nosemi}")
set(passes 0)
set(fails 0)
set(started OFF)
set(done_passed "")
set(done_failed "")
foreach(line IN LISTS lines)
  if(line MATCHES "^genpt-bm: start")
    set(started ON)
  elseif(line MATCHES "^genpt-bm: done ([0-9]+) passed, ([0-9]+) failed$")
    set(done_passed ${CMAKE_MATCH_1})
    set(done_failed ${CMAKE_MATCH_2})
  elseif(line MATCHES "^genpt-bm: .*: pass$")
    math(EXPR passes "${passes} + 1")
  elseif(line MATCHES "^genpt-bm: .*: FAIL")
    math(EXPR fails "${fails} + 1")
  endif()
endforeach()

set(ok OFF)
if(NOT done_passed STREQUAL "" AND done_failed EQUAL 0 AND fails EQUAL 0
   AND passes EQUAL EXPECT AND done_passed EQUAL EXPECT)
  set(ok ON)
endif()
if(DEFINED EXIT_STATUS AND NOT rc STREQUAL "${EXIT_STATUS}")
  set(ok OFF)
endif()
set(summary "QEMU status ${rc}, ${passes} pass lines (expected ${EXPECT}), ${fails} FAIL lines, done line: ")
if(done_passed STREQUAL "")
  string(APPEND summary "none")
else()
  string(APPEND summary "${done_passed} passed, ${done_failed} failed")
endif()

if(MODE STREQUAL "normal")
  if(NOT ok)
    message(FATAL_ERROR "genpt-bm: FAILED: ${summary}")
  endif()
  message(STATUS "genpt-bm: passed: ${summary}")
elseif(MODE STREQUAL "corrupt")
  if(NOT started)
    message(FATAL_ERROR "genpt-bm: negative control FAILED: the corrupted kernel never started "
                        "(no 'genpt-bm: start' line), so it proves nothing")
  endif()
  if(ok OR (fails EQUAL 0 AND NOT done_passed STREQUAL ""))
    message(FATAL_ERROR "genpt-bm: negative control FAILED: the corrupted table went unnoticed: ${summary}")
  endif()
  message(STATUS "genpt-bm: negative control passed (the corruption was detected): ${summary}")
else()
  message(FATAL_ERROR "run_qemu.cmake: MODE must be normal or corrupt, not '${MODE}'")
endif()
