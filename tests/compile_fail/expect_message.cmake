# tests/compile_fail/expect_message.cmake - compiles missing_hook.cpp with one
# required Format member left out and checks that the compiler fails with
# the static_assert message core/concepts.hpp promises for it.
#
#   cmake -DCXX=<compiler> -DINCLUDE=<genpt include dir> -DSRC=<missing_hook.cpp>
#         -DHOOK=<member | none> -P expect_message.cmake
#
# HOOK=none compiles the whole toy format, which must succeed (so each
# failure below comes from its omission alone).

# The messages, word for word as concepts.hpp's check_format writes them.
set(msg_word_t "genpt Format: missing `using word_t = std::uint64_t;`")
set(msg_config "genpt Format: missing nested `struct config`")
set(msg_params "genpt Format: missing nested `struct params : genpt::table_params`")
set(msg_attrs "genpt Format: missing nested `struct attrs`")
set(msg_hw_info "genpt Format: missing nested `struct hw_info`")
set(msg_granule_lg2 "genpt Format: missing `static constexpr unsigned granule_lg2`")
set(msg_table_lg2 "genpt Format: missing `static constexpr unsigned table_lg2`")
set(msg_top_align_lg2 "genpt Format: missing `static constexpr unsigned top_align_lg2`")
set(msg_max_top_level "genpt Format: missing `static constexpr unsigned max_top_level`")
set(msg_max_va_lg2 "genpt Format: missing `static constexpr unsigned max_va_lg2`")
set(msg_max_oa_lg2 "genpt Format: missing `static constexpr unsigned max_oa_lg2`")
set(msg_init "genpt Format: missing `static result<params> init(const config&)`")
set(msg_classify "genpt Format: missing `static constexpr entry_kind classify(word_t, unsigned level)`")
set(msg_table_oa "genpt Format: missing `static constexpr oa_t table_oa(word_t, const params&)`")
set(msg_make_table "genpt Format: missing `static constexpr word_t make_table(oa_t, unsigned level, const params&)`")
set(msg_entry_oa "genpt Format: missing `static constexpr oa_t entry_oa(word_t, unsigned level, const params&)`")
set(msg_leaf_sizes "genpt Format: missing `static constexpr std::uint64_t leaf_sizes(unsigned level, const params&)`")
set(msg_make_leaf "genpt Format: missing `static constexpr word_t make_leaf(oa_t, unsigned size_lg2, unsigned level, const attrs&, const params&)`")
set(msg_attrs_of "genpt Format: missing `static constexpr attrs attrs_of(word_t, unsigned level, const params&)`")
set(msg_attrs_from_prot "genpt Format: missing `static constexpr attrs attrs_from_prot(prot, const params&)`")
set(msg_make_hw_info "genpt Format: missing `static constexpr hw_info make_hw_info(oa_t root, unsigned top_level, const params&)`")
set(msg_level_name "genpt Format: missing `static constexpr const char* level_name(unsigned level, const params&)`")
set(msg_attrs_eq "genpt Format: attrs must be equality comparable")

foreach(v CXX INCLUDE SRC HOOK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "expect_message.cmake: -D${v}=... is required")
  endif()
endforeach()

set(defs "")
if(NOT HOOK STREQUAL "none")
  if(NOT DEFINED msg_${HOOK})
    message(FATAL_ERROR "expect_message.cmake: no message known for '${HOOK}'")
  endif()
  set(defs "-DGENPT_OMIT_${HOOK}")
endif()

execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -fno-diagnostics-color -I${INCLUDE} ${defs} ${SRC}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)

if(HOOK STREQUAL "none")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the complete toy format must compile:\n${out}${err}")
  endif()
  message(STATUS "complete toy format compiles")
  return()
endif()

if(rc EQUAL 0)
  message(FATAL_ERROR "compiled without `${HOOK}`: check_format<F>() must fail")
endif()
string(FIND "${out}${err}" "${msg_${HOOK}}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "without `${HOOK}` the compiler failed, but not with\n  ${msg_${HOOK}}\n"
                      "it said:\n${out}${err}")
endif()
message(STATUS "without `${HOOK}`: ${msg_${HOOK}}")
