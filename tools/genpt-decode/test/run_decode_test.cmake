# run_decode_test.cmake - genpt-decode end to end (ctest: genpt_decode_cli).
#
#   cmake -DDECODE=<genpt-decode> -DMKIMAGES=<genpt-decode-mkimages>
#         -DEXPECTED=<this dir> -DWORK=<scratch dir> -P run_decode_test.cmake
#
# 1. mkimages writes tables genpt built (x86.img, amd.img, arm*.img,
#    riscv.img (Sv39), vtd.img (VT-d second stage), ept.img) and corrupted
#    copies (x86-bad.img: a page-table pointer outside the image, a
#    reserved bit in a 2 MiB PDE; riscv-bad.img: V cleared, a misaligned
#    megapage, a reserved bit; vtd-bad.img: reserved bits in a pointer and
#    a 2 MiB page, R = W = X = 0 in a 1 GiB page).
# 2. genpt-decode dump / translate / json runs on each; stdout must equal
#    the expected file (*.expected here: descriptor words, indexes and
#    faults checked by hand against the Intel SDM Vol. 3A ch. 4, the AMD
#    IOMMU spec, the RISC-V Privileged spec, the VT-d spec §3.7 / §9.8 and
#    SDM Vol. 3C §29.3), and the exit status must be 0 (faults are output).
# 3. Bad usage: exit 2 and exactly one line on stderr; a missing file:
#    exit 1 and one line.
cmake_minimum_required(VERSION 3.20)

foreach(v DECODE MKIMAGES EXPECTED WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_decode_test.cmake: -D${v}= is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${MKIMAGES}" "${WORK}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "genpt-decode-mkimages failed: ${rc}")
endif()

set(failures 0)

# check_output(<name> <image> <expected file> <args>...): runs genpt-decode
# on <image>.img at 0x100000000 with its root, expects exit 0 and stdout
# equal to <expected file>, nothing on stderr.
function(check_output name image expected)
  file(READ "${WORK}/${image}.root" root)
  string(STRIP "${root}" root)
  execute_process(
    COMMAND "${DECODE}" --root ${root} --image "${WORK}/${image}.img" --base 0x100000000 ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(WRITE "${WORK}/${name}.out" "${out}")
  file(READ "${EXPECTED}/${expected}" want)
  if(NOT rc EQUAL 0 OR NOT err STREQUAL "" OR NOT out STREQUAL want)
    message(SEND_ERROR "${name}: exit ${rc}, stderr '${err}'; output differs from ${expected}:\n"
                       "--- got (${WORK}/${name}.out)\n${out}--- want\n${want}")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  endif()
endfunction()

# check_line(<name> <image> <line> <args>...): like check_output, but
# stdout must hold <line> as one whole line.
function(check_line name image line)
  file(READ "${WORK}/${image}.root" root)
  string(STRIP "${root}" root)
  execute_process(
    COMMAND "${DECODE}" --root ${root} --image "${WORK}/${image}.img" --base 0x100000000 ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(WRITE "${WORK}/${name}.out" "${out}")
  string(FIND "\n${out}" "\n${line}\n" at)
  if(NOT rc EQUAL 0 OR NOT err STREQUAL "" OR at EQUAL -1)
    message(SEND_ERROR "${name}: exit ${rc}, stderr '${err}'; no line '${line}' in:\n${out}")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  endif()
endfunction()

# check_error(<name> <status> <stderr regex> <args>...): expects exit
# <status>, nothing on stdout, and exactly one stderr line matching the regex.
function(check_error name status regex)
  execute_process(COMMAND "${DECODE}" ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCHALL "\n" newlines "${err}")
  list(LENGTH newlines lines)
  if(NOT rc EQUAL status OR NOT out STREQUAL "" OR NOT lines EQUAL 1
     OR NOT err MATCHES "^genpt-decode: error: ${regex}")
    message(SEND_ERROR "${name}: want exit ${status} and one line matching '${regex}'; "
                       "got exit ${rc}, ${lines} lines: '${err}', stdout '${out}'")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  endif()
endfunction()

# (a) tables genpt built.
check_output(x86_dump x86 x86.dump.expected --format x86_64 dump)
check_output(x86_translate x86 x86.translate.expected --format x86_64
  translate 0x400123 0x600000 0x7fffff 0xffff800012345678 0x800000 0x0000800000000000)
check_output(x86_translate_user_write x86 x86.translate-user-write.expected --format x86_64
  translate --user --write 0x400123 0x600000 0xffff800012345678)
check_output(x86_json_translate x86 x86.translate.json.expected --format x86_64
  json translate 0x400123 0x800000)
check_output(amd_dump amd amd.dump.expected --format amdv1 dump)
check_output(amd_translate amd amd.translate.expected --format amdv1
  translate 0x1000 0x5fff 0x200000 0x3000 0x8000000000)
check_output(amd_json_dump amd amd.dump.json.expected --format amdv1 json dump)
# The JSON must parse (CMake's own JSON reader).
file(READ "${WORK}/amd_json_dump.out" json)
string(JSON n ERROR_VARIABLE jerr LENGTH "${json}" items)
if(jerr OR NOT n EQUAL 6)
  message(SEND_ERROR "amd_json_dump: not valid JSON with 6 items: ${jerr}")
  math(EXPR failures "${failures} + 1")
endif()
check_output(arm4k_dump arm4k-s1 arm4k-s1.dump.expected --format armv8-4k-s1 dump)
check_output(arm4k_translate arm4k-s1 arm4k-s1.translate.expected --format armv8-4k-s1
  translate 0x1abc 0x200000 0x2ffff 0x3000 0xffff000000000000)
check_output(arm4k_translate_exec arm4k-s1 arm4k-s1.translate-exec.expected --format armv8-4k-s1
  translate --exec 0x1abc 0x21000)
check_output(arm16k_s2_dump arm16k-s2 arm16k-s2.dump.expected --format armv8-16k-s2 dump)
check_output(arm16k_s2_translate_write arm16k-s2 arm16k-s2.translate-write.expected --format armv8-16k-s2
  translate --write 0x4000 0x2000000 0x100000)
# A bound on the words read: the dump stops and says so.
check_output(x86_dump_truncated x86 x86.dump-truncated.expected --format x86_64 --max-reads 600 dump)

# RISC-V Sv39 (satp MODE 8): a 4K user page, a 2M supervisor megapage, a
# 64K Svnapot range (16 equal PTEs, one line), a 1G gigapage in the upper
# half. SUM = 0 by default: a supervisor read of a U = 1 page faults.
check_output(riscv_dump riscv riscv.dump.expected --format riscv-sv39 dump)
check_output(riscv_translate riscv riscv.translate.expected --format riscv-sv39 --config sum=1
  translate 0x400123 0x7fffff 0x1abcd 0xffffffc012345678 0x800000 0x4000000000)
check_output(riscv_translate_nosum riscv riscv.translate-nosum.expected --format riscv-sv39
  translate 0x400123 0x600000)
check_output(riscv_translate_user_write riscv riscv.translate-user-write.expected --format riscv-sv39
  translate --user --write 0x400123 0x600000 0x1abcd)
# VT-d second stage, 4 levels: a 4K read/write page, a 2M read-only page, a
# 1G write-only page, a 4K page at the top of the 48-bit input.
check_output(vtd_dump vtd vtd.dump.expected --format vtd_ss dump)
check_output(vtd_translate vtd vtd.translate.expected --format vtd_ss
  translate 0x400123 0x7fffff 0x80000000 0x7fffffffffff 0x800000 0x800000000000 0x1000000000000)
check_output(vtd_translate_write vtd vtd.translate-write.expected --format vtd_ss
  translate --write 0x80000000 0x600000)
# levels=5 alone widens the input to 57 bits (the root read as an SS-PML5);
# with va_bits=48 the address is still above the input width.
check_output(vtd_levels5 vtd vtd.levels5.expected --format vtd_ss --config levels=5
  translate 0x1000000000000)
check_output(vtd_levels5_va48 vtd vtd.levels5-va48.expected --format vtd_ss --config levels=5,va_bits=48
  translate 0x1000000000000)
# EPT, the same mappings (W with R, memory type WB 6 in bits 5:3).
check_output(ept_translate ept ept.translate.expected --format ept
  translate 0x400123 0x7fffff 0x80001234 0x7ffffffff123 0x800000)
check_output(ept_translate_exec ept ept.translate-exec.expected --format ept
  translate --exec 0x400123 0x600000)
check_line(ept_dump ept
  "      [  0] EPT-PTE 0x0000000000400000..0x0000000000400fff 0x0000000012345037 leaf 4K oa 0x0000000012345000..0x0000000012345fff k:rwx u:rwx"
  --format ept dump)
check_line(ept_dump_count ept "10 items, 3584 words read" --format ept dump)

# (b) a corrupted image: the faults are printed, nothing is followed.
check_output(x86_bad_dump x86-bad x86-bad.dump.expected --format x86_64 dump)
check_output(x86_bad_translate x86-bad x86-bad.translate.expected --format x86_64
  translate 0x400000 0x600000 0xffff800000000000)
# The same image under MAXPHYADDR 32: the 1 GiB page at 0x140000000 and
# every table above 4 GiB carry reserved address bits.
check_output(x86_bad_maxphyaddr x86-bad x86-bad.maxphyaddr.expected --format x86_64
  --config maxphyaddr=32 translate 0xffff800000000000)
check_output(riscv_bad_dump riscv-bad riscv-bad.dump.expected --format riscv-sv39 dump)
check_output(riscv_bad_translate riscv-bad riscv-bad.translate.expected --format riscv-sv39 --config sum=1
  translate 0x400000 0x600000 0xffffffc000000000 0x1abcd)
check_output(vtd_bad_dump vtd-bad vtd-bad.dump.expected --format vtd_ss dump)
check_output(vtd_bad_translate vtd-bad vtd-bad.translate.expected --format vtd_ss
  translate 0x400000 0x600000 0x80000000)

# (c) bad usage: one line, exit 2; an unreadable file: one line, exit 1.
set(img "${WORK}/x86.img")
check_error(no_args 2 "--format is required")
check_error(bad_format 2 "--format: unknown format 'sparc'" --format sparc --root 0 --image ${img} dump)
check_error(no_root 2 "--root is required" --format x86_64 --image ${img} dump)
check_error(bad_number 2 "--root: not a number: '0xzz'" --format x86_64 --root 0xzz --image ${img} dump)
check_error(no_command 2 "no command" --format x86_64 --root 0 --image ${img})
check_error(bad_command 2 "unknown command 'walk'" --format x86_64 --root 0 --image ${img} walk)
check_error(no_va 2 "translate needs at least one VA" --format x86_64 --root 0 --image ${img} translate)
check_error(bad_config 2 "--config: unknown key 'mode' for x86_64" --format x86_64 --config mode=3 --root 0 --image ${img} dump)
check_error(bad_config_riscv 2 "--config: unknown key 'tsz' for riscv" --format riscv-sv48 --config tsz=16 --root 0 --image ${img} dump)
check_error(bad_config_ept 2 "--config: unknown key 'snoop' for ept" --format ept --config snoop=1 --root 0 --image ${img} dump)
check_error(bad_config_vtd 2 "--config levels: at most 5" --format vtd_ss --config levels=6 --root 0 --image ${img} dump)
check_error(bad_switch 2 "--config la57: expected 0 or 1" --format x86_64 --config la57=2 --root 0 --image ${img} dump)
check_error(overlap 2 "piece '.*' at 0x0000000100000000 overlaps '.*' at 0x0000000100001000" --format x86_64 --root 0
  --image ${img} --base 0x100000000 --piece 0x100001000:${img} dump)
check_error(bad_option 2 "unknown option '--frobnicate'" --format x86_64 --frobnicate)
check_error(missing_file 1 "cannot open '${WORK}/nothere.img'" --format x86_64 --root 0 --image ${WORK}/nothere.img dump)

# --help: usage with examples on stdout, exit 0.
execute_process(COMMAND "${DECODE}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^usage: genpt-decode" OR NOT out MATCHES "Examples:" OR NOT err STREQUAL ""
   OR NOT out MATCHES "riscv-sv57x4" OR NOT out MATCHES "vtd_ss \\(VT-d" OR NOT out MATCHES "ept \\(Intel EPT\\)")
  message(SEND_ERROR "--help: exit ${rc}, stderr '${err}'")
  math(EXPR failures "${failures} + 1")
endif()

if(failures GREATER 0)
  message(FATAL_ERROR "genpt-decode: ${failures} check(s) failed")
endif()
message(STATUS "genpt-decode: all checks passed")
