# bm_x86.cmake - build and test helpers of the genpt bare-metal x86-64
# kernels (included by examples/baremetal/x86_64 and .../amdvi).
#
# The kernels are compiled with a g++ found here, never CMAKE_CXX_COMPILER
# (which may be clang++ or carry sanitizer flags), linked at 1 MiB by
# common/kernel.ld and turned into elf32-i386 with objcopy: QEMU's
# multiboot loader refuses ELF64 images.
include_guard(DIRECTORY)

find_program(GENPT_BM_X86_CXX NAMES x86_64-linux-gnu-g++ g++
             DOC "g++ targeting x86-64, for the bare-metal kernels")
find_program(GENPT_BM_X86_OBJCOPY NAMES x86_64-linux-gnu-objcopy objcopy
             DOC "objcopy that writes elf32-i386")
find_program(GENPT_BM_QEMU_X86 NAMES qemu-system-x86_64 DOC "QEMU x86-64 system emulator")

set(GENPT_BM_X86_COMMON ${CMAKE_CURRENT_LIST_DIR})
set(GENPT_BM_X86_CXX_PKG "g++ (on a non-x86 host: g++-x86-64-linux-gnu)")
set(GENPT_BM_X86_FLAGS
  -std=c++20 -m64 -O2 -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics
  -nostdlib -static -fno-stack-protector -fno-pie -no-pie
  # Exceptions arrive on the kernel's stack and save general registers only.
  -mno-red-zone -mgeneral-regs-only
  -fno-asynchronous-unwind-tables -fno-unwind-tables
  -Wall -Wextra -Werror
  -Wl,-T,${GENPT_BM_X86_COMMON}/kernel.ld -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none
  -Wl,-z,noexecstack)
file(GLOB_RECURSE GENPT_BM_GENPT_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/genpt/*.hpp)
set(GENPT_BM_X86_COMMON_SOURCES
  ${GENPT_BM_X86_COMMON}/boot.S ${GENPT_BM_X86_COMMON}/traps.S ${GENPT_BM_X86_COMMON}/bm.cpp)

# genpt_bm_x86_kernel(<output elf32 path> SOURCES <src...> [DEFINES <-D...>])
# Adds the custom command that builds one kernel image (nothing when the
# compiler is missing: the test then fails naming the package).
function(genpt_bm_x86_kernel out)
  cmake_parse_arguments(K "" "" "SOURCES;DEFINES" ${ARGN})
  if(NOT GENPT_BM_X86_CXX OR NOT GENPT_BM_X86_OBJCOPY)
    return()
  endif()
  get_filename_component(name ${out} NAME_WE)
  set(elf64 ${CMAKE_CURRENT_BINARY_DIR}/${name}.elf64)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${GENPT_BM_X86_CXX} ${GENPT_BM_X86_FLAGS} ${K_DEFINES}
            -I${PROJECT_SOURCE_DIR}/include -I${GENPT_BM_X86_COMMON}/..
            ${GENPT_BM_X86_COMMON_SOURCES} ${K_SOURCES} -o ${elf64}
    COMMAND ${GENPT_BM_X86_OBJCOPY} -O elf32-i386 ${elf64} ${out}
    DEPENDS ${GENPT_BM_X86_COMMON_SOURCES} ${K_SOURCES} ${GENPT_BM_GENPT_HEADERS}
            ${GENPT_BM_X86_COMMON}/cpu_paging.hpp
            ${GENPT_BM_X86_COMMON}/bm.hpp ${GENPT_BM_X86_COMMON}/kernel.ld
    COMMENT "genpt-bm: building ${name}"
    VERBATIM)
endfunction()

# genpt_bm_x86_test(<name> <kernel> <expected pass lines> <normal|corrupt> <qemu arg>...)
function(genpt_bm_x86_test name kernel expect mode)
  list(JOIN ARGN "|" qemu_args)
  # The driver names the first missing build tool's package.
  set(tool ${GENPT_BM_X86_CXX})
  set(pkg ${GENPT_BM_X86_CXX_PKG})
  if(GENPT_BM_X86_CXX AND NOT GENPT_BM_X86_OBJCOPY)
    set(tool objcopy-NOTFOUND)
    set(pkg binutils)
  endif()
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND}
      -DQEMU=${GENPT_BM_QEMU_X86} -DQEMU_PKG=qemu-system-x86
      -DCXX=${tool} "-DCXX_PKG=${pkg}"
      -DKERNEL=${kernel} -DLOG=${CMAKE_CURRENT_BINARY_DIR}/${name}.serial.log
      -DEXPECT=${expect} -DMODE=${mode} "-DQEMU_ARGS=${qemu_args}" -DTIMEOUT_S=60
      -P ${GENPT_BM_RUN_QEMU})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS "baremetal")
endfunction()
