// genpt/walk/types.hpp - the vocabulary of the hardware-faithful walker.
//
// walk<Format>(params, root, va, access, memory) translates one va the way
// the hardware does, reading table memory only through a caller's memory
// object (genpt/walk/memory.hpp), and returns either a translation or the
// fault the hardware would raise. It never trusts the memory it reads: a
// table someone else built (a guest, a driver, a crash dump) is input.
#pragma once

#include <cstdint>

#include "genpt/core/types.hpp"

namespace genpt {

/// What an access asks for. Formats map the fields to their checks:
/// x86_64 R/W, U/S, XD; AMDv1 IR/IW (exec and user ignored); ARMv8 stage 1
/// AP/PXN/UXN with `user` = EL0, stage 2 S2AP/XN.
struct access {
  bool write = false;  ///< a write (else a read)
  bool exec = false;   ///< an instruction fetch (implies a read)
  bool user = false;   ///< user / EL0 / unprivileged (else supervisor / EL1)
};

/// Why a walk stopped without a translation, as the hardware reports it.
enum class fault_kind : std::uint8_t {
  translation,      ///< not present / invalid descriptor (x86 P=0, AMD PR=0, Arm translation fault)
  permission,       ///< present, but the access is not allowed
  access_flag,      ///< ARMv8: AF = 0 and hardware AF management off
  address_size,     ///< an address above the configured width (Arm address size fault; AMD, x86: see reserved_bit)
  reserved_bit,     ///< x86 reserved-bit violation (RSVD), AMD illegal NextLevel / reserved encodings
  non_canonical,    ///< x86: va not canonical (#GP, no walk); ARMv8: va outside TTBR0/TTBR1 ranges
  bus_error,        ///< the memory object could not read a table word
};

/// A fault: its kind and where it happened.
struct fault {
  fault_kind kind = fault_kind::translation;
  unsigned level = 0;        ///< genpt level of the item that faulted (0 = smallest leaves)
  int spec_level = 0;        ///< the level as the spec names it (Arm ESR level, AMD level, x86 table depth)
  oa_t item_oa = 0;          ///< oa of the faulting descriptor (0 for non_canonical)
  std::uint64_t word = 0;    ///< that descriptor as read (0 for non_canonical / bus_error)
  constexpr bool operator==(const fault&) const = default;
};

/// Effective permissions after combining every level of the walk.
struct walk_perms {
  bool read = false;
  bool write = false;
  bool exec = false;       ///< privileged (x86 supervisor, Arm EL1/PXN) execute
  bool user = false;       ///< user / EL0 access allowed at all
  bool user_exec = false;  ///< user / EL0 execute (Arm UXN; x86: user && exec)
  constexpr bool operator==(const walk_perms&) const = default;
};

/// A successful translation.
struct translation {
  oa_t oa = 0;             ///< the output address of va itself
  unsigned size_lg2 = 0;   ///< bytes the leaf translates (the whole contiguous entry if any), log2
  unsigned level = 0;      ///< genpt level of the leaf
  std::uint64_t leaf = 0;  ///< the leaf descriptor as read
  walk_perms perms;        ///< effective permissions, combined as the hardware combines them
  constexpr bool operator==(const translation&) const = default;
};

/// How the hardware reads one descriptor on its own, apart from the rest
/// of the walk (hw_walker<Format>::decode_item; genpt/walk/tree.hpp).
enum class item_kind : std::uint8_t {
  invalid,  ///< not present / invalid: a walk through it faults (`fault`: translation)
  table,    ///< points to a next table
  leaf,     ///< maps a page / block
  bad,      ///< present, but a walk through it faults (`fault`: reserved_bit, address_size, translation)
};

/// One descriptor decoded by the hardware's rules for its level. Checks
/// that need more than the descriptor (permissions combined along the
/// walk, AF, AMD skipped-level va bits and NextLevel 7 replicas, Arm
/// contiguous runs) are the walk's, not this.
struct item_decode {
  item_kind kind = item_kind::invalid;
  fault_kind fault = fault_kind::translation;  ///< invalid / bad: the fault a walk through it raises
  unsigned next_level = 0;      ///< table: genpt level of the next table's items
  unsigned next_items_lg2 = 0;  ///< table: items in the next table, log2
  oa_t oa = 0;                  ///< table: the next table's oa; leaf: the page's oa (aligned to its size)
  unsigned size_lg2 = 0;        ///< leaf: bytes the page maps, log2 (AMD NextLevel 7: the whole page)
};

/// Where every walk of a register state starts (hw_walker<Format>::top_table).
struct tree_top {
  bool ok = false;              ///< false: no descriptor is ever read (`no_table`, or every walk faults with `fault`)
  bool no_table = false;        ///< translation is off (AMD DTE Mode 0): no table at all
  fault_kind fault = fault_kind::translation;  ///< !ok && !no_table: the fault of every walk
  unsigned level = 0;           ///< genpt level of the top table's items
  oa_t table = 0;               ///< oa of the top table
  unsigned items_lg2 = 0;       ///< items in the top table, log2 (Arm concatenated tables: all of them)
  unsigned granule_lg2 = 12;    ///< an item at level l translates 2^(granule_lg2 + stride * l) bytes
  unsigned stride = 9;          ///< index bits of a non-top table
  va_t va_base = 0;             ///< ORed into every va (Arm TTBR1: the ones above the input size)
  unsigned sign_bit = 64;       ///< below 64: this va bit is copied into every bit above it (x86 canonical form)
};

/// A translation or a fault. Trivially copyable; no exceptions.
struct walk_result {
  bool ok = false;
  translation t;  ///< valid when ok
  fault f;        ///< valid when !ok
  constexpr explicit operator bool() const noexcept { return ok; }
};

}  // namespace genpt
