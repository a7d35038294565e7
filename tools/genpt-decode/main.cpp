// genpt-decode - decode a page table held in a raw memory image.
//
// Reads table memory only through a bounds-checked memory object over the
// image pieces, walks with genpt's hardware-faithful walker
// (genpt/walk/walk.hpp) and visits the tree with genpt/walk/tree.hpp: the
// image is untrusted input (a guest's tables, a crash dump, a corrupted
// file), never dereferenced. See docs/decode.md.
//
// Exit status: 0 decoded (faults and bad items are output, not errors);
// 1 a runtime error (a file that cannot be read); 2 bad usage. Every error
// is one line on stderr.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "genpt/walk/tree.hpp"
#include "genpt/walk/walk.hpp"

namespace {

using genpt::access;
using genpt::fault_kind;
using genpt::item_kind;
using genpt::oa_t;
using genpt::va_t;

constexpr const char* usage_text = R"(usage: genpt-decode --format FORMAT [--config KEY=VALUE,...] --root OA
                    (--image FILE [--base PA] | --piece PA:FILE)... COMMAND

Decodes a page table held in a raw memory image, reading it only through
bounds-checked memory (the image is untrusted: a guest's table, a crash
dump, a corrupted file), with genpt's hardware-faithful walker.

Commands:
  dump                 every non-empty item reachable from the root, one line
                       each, depth first: index, level, va range, raw word,
                       and table -> oa | leaf size oa range permissions |
                       invalid | bad FAULT | unreadable
  translate VA...      walk each va as the hardware does: the oa, or the fault
                       (kind, level, descriptor oa and word)
  json dump            the dump as one JSON object
  json translate VA... the translations as one JSON object

Options:
  --format FORMAT      x86_64 (4-level), x86_64-5 (5-level, LA57), amdv1,
                       armv8-4k-s1, armv8-16k-s1, armv8-64k-s1,
                       armv8-4k-s2, armv8-16k-s2, armv8-64k-s2,
                       riscv-sv39, riscv-sv48, riscv-sv57 (satp),
                       riscv-sv39x4, riscv-sv48x4, riscv-sv57x4 (hgatp G-stage),
                       vtd_ss (VT-d second stage), ept (Intel EPT)
  --config K=V,...     register state (repeatable; 0/1 for switches):
                       x86_64:  la57 wp smep smap ac nxe page1g maxphyaddr c_bit
                       amdv1:   mode ir iw oa_lg2 c_bit strict_replicas
                       armv8:   tsz ttbr1 ps ds lpa lva sl0 sl2 hpd wxn pan xnx
                       riscv:   levels g_stage svnapot svpbmt adue sum mxr
                       vtd_ss:  levels va_bits oa_bits ad exec snoop page_2m page_1g
                       ept:     levels va_bits oa_bits ad exec exec_only page_2m page_1g
                       c_bit is a bit position (0: none); riscv levels 0 is
                       Bare; vtd_ss / ept exec is execute requests / MBEC.
                       Defaults: what genpt builds by default (x86_64 WP=1
                       NXE=1 1G pages M=52; amdv1 Mode 3; armv8 T0SZ 16,
                       PS 5, stage 2 SL0 2) or the hardware's reset-like
                       state: riscv levels and g_stage from the format name,
                       Svnapot=1 Svpbmt=1 ADUE=0 SUM=0 MXR=0; vtd_ss / ept
                       levels 4, va_bits 48 (levels=N alone: 12+9N), oa_bits
                       52, 2M and 1G pages, ad exec snoop exec_only 0.
  --root OA            the table root (CR3, DTE root pointer, TTBR / VTTBR,
                       satp / hgatp PPN x 4096, SSPTPTR / EPTP address)
  --image FILE         a raw image of memory starting at --base (default 0)
  --base PA            the physical address of the image's first byte
  --piece PA:FILE      one more piece of sparse memory (repeatable)
  --write --exec --user  the access translate checks (default: supervisor read)
  --max-reads N        stop a dump after N words (default 16777216)
  --help               this text

Numbers are decimal or 0x hex. Memory outside the pieces reads as a bus
error. Exit status: 0 decoded (faults are output, not errors), 1 runtime
error (a file that cannot be read), 2 bad usage.

Examples:
  genpt-decode --format x86_64 --root 0x100000000 --image mem.bin --base 0x100000000 dump
  genpt-decode --format x86_64-5 --config maxphyaddr=46 --root 0x1000 \
               --piece 0x0:low.bin --piece 0x100000000:high.bin translate 0x7fff0000 0x1234
  genpt-decode --format amdv1 --config mode=4 --root 0x8000 --image dte.bin --base 0 \
               translate --write 0x200000
  genpt-decode --format armv8-4k-s2 --config sl0=1,tsz=24 --root 0x40000000 \
               --image vm.bin --base 0x40000000 json dump
  genpt-decode --format riscv-sv48 --config sum=1 --root 0x80200000 \
               --image ram.bin --base 0x80000000 translate 0x3fffff000
  genpt-decode --format ept --config levels=5,exec_only=1 --root 0x5000 \
               --image guest.bin translate --exec 0x100000000000
)";

/// Reports an error as one line on stderr and exits with `status` (1
/// runtime, 2 usage). No exceptions: a command-line tool's errors end it.
[[noreturn]] void fail(int status, const std::string& msg) {
  std::fprintf(stderr, "genpt-decode: error: %s%s\n", msg.c_str(), status == 2 ? " (see --help)" : "");
  std::exit(status);
}
[[noreturn]] void usage_error(const std::string& msg) { fail(2, msg); }

/// Parses a whole decimal or 0x-hex unsigned 64-bit number.
bool parse_u64(std::string_view s, std::uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::uint64_t number(std::string_view what, std::string_view s) {
  std::uint64_t v = 0;
  if (!parse_u64(s, v)) usage_error(std::string(what) + ": not a number: '" + std::string(s) + "'");
  return v;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string size_name(unsigned lg2) {
  if (lg2 >= 64) return "16E";
  static constexpr const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
  return std::to_string(std::uint64_t{1} << (lg2 % 10)) + units[lg2 / 10];
}

std::string_view fault_name(fault_kind k) {
  switch (k) {
    case fault_kind::translation: return "translation";
    case fault_kind::permission: return "permission";
    case fault_kind::access_flag: return "access_flag";
    case fault_kind::address_size: return "address_size";
    case fault_kind::reserved_bit: return "reserved_bit";
    case fault_kind::non_canonical: return "non_canonical";
    case fault_kind::bus_error: return "bus_error";
  }
  return "?";
}

// ---------------------------------------------------------------- memory --

/// Sparse memory: pieces of bytes at physical addresses, no two
/// overlapping. read64 refuses an unaligned oa or a word not wholly inside
/// one piece (a bus error for the walker).
class piece_memory {
 public:
  struct piece {
    oa_t base = 0;
    std::vector<unsigned char> bytes;
    std::string name;
  };

  void add(oa_t base, std::vector<unsigned char> bytes, std::string name) {
    const std::uint64_t size = bytes.size();
    if (size != 0 && base + (size - 1) < base)
      usage_error("piece '" + name + "' at " + hex(base) + " runs past the top of the address space");
    for (const piece& p : pieces_) {
      if (size == 0 || p.bytes.empty()) continue;
      const oa_t last = base + (size - 1), p_last = p.base + (p.bytes.size() - 1);
      if (base <= p_last && p.base <= last)
        usage_error("piece '" + name + "' at " + hex(base) + " overlaps '" + p.name + "' at " + hex(p.base));
    }
    pieces_.push_back(piece{base, std::move(bytes), std::move(name)});
  }

  bool read64(oa_t oa, std::uint64_t& out) const noexcept {
    if ((oa & 7) != 0) return false;
    for (const piece& p : pieces_) {
      if (oa < p.base) continue;
      const std::uint64_t off = oa - p.base;
      if (off >= p.bytes.size() || p.bytes.size() - off < 8) continue;
      // Bytes of a file image: assembled little-endian, as the tables are
      // stored (x86, AMD, Arm, RISC-V, VT-d / EPT little-endian tables).
      std::uint64_t w = 0;
      for (unsigned i = 0; i < 8; ++i) w |= std::uint64_t{p.bytes[off + i]} << (8 * i);
      out = w;
      return true;
    }
    return false;
  }

 private:
  std::vector<piece> pieces_;
};

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(1, "cannot open '" + path + "'");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) fail(1, "cannot read '" + path + "'");
  return bytes;
}

// ------------------------------------------------------------- options --

struct options {
  std::string format;
  std::vector<std::pair<std::string, std::uint64_t>> config;
  bool have_root = false;
  oa_t root = 0;
  piece_memory mem;
  bool have_memory = false;
  std::string command;  ///< dump | translate
  bool json = false;
  std::vector<va_t> vas;
  access acc;
  std::uint64_t max_reads = std::uint64_t{1} << 24;
};

// ------------------------------------------------------------- formats --

/// Per format: register keys, level names, permission letters.
template <class Format>
struct format_info;

bool bit01(const std::string& key, std::uint64_t v) {
  if (v > 1) usage_error("--config " + key + ": expected 0 or 1");
  return v != 0;
}
unsigned small(const std::string& key, std::uint64_t v, unsigned max) {
  if (v > max) usage_error("--config " + key + ": at most " + std::to_string(max));
  return static_cast<unsigned>(v);
}
std::uint64_t bit_mask(const std::string& key, std::uint64_t v) {
  if (v > 63) usage_error("--config " + key + ": a bit position, at most 63");
  return v == 0 ? 0 : std::uint64_t{1} << v;
}

template <>
struct format_info<genpt::x86_64> {
  using regs = genpt::hw_walker<genpt::x86_64>::regs;
  static void set(regs& r, const std::string& k, std::uint64_t v) {
    if (k == "la57") r.la57 = bit01(k, v);
    else if (k == "wp") r.cr0_wp = bit01(k, v);
    else if (k == "smep") r.cr4_smep = bit01(k, v);
    else if (k == "smap") r.cr4_smap = bit01(k, v);
    else if (k == "ac") r.eflags_ac = bit01(k, v);
    else if (k == "nxe") r.efer_nxe = bit01(k, v);
    else if (k == "page1g") r.page_1g = bit01(k, v);
    else if (k == "maxphyaddr") r.maxphyaddr = small(k, v, 52);
    else if (k == "c_bit") r.c_bit = bit_mask(k, v);
    else usage_error("--config: unknown key '" + k + "' for x86_64");
  }
  static std::string level_name(unsigned level) {
    constexpr const char* names[] = {"PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
    return level <= 4 ? names[level] : "?";
  }
};

template <>
struct format_info<genpt::amdv1> {
  using regs = genpt::hw_walker<genpt::amdv1>::regs;
  static void set(regs& r, const std::string& k, std::uint64_t v) {
    if (k == "mode") r.mode = small(k, v, 7);
    else if (k == "ir") r.ir = bit01(k, v);
    else if (k == "iw") r.iw = bit01(k, v);
    else if (k == "oa_lg2") r.oa_lg2 = small(k, v, 52);
    else if (k == "c_bit") r.c_bit = bit_mask(k, v);
    else if (k == "strict_replicas") r.strict_replicas = bit01(k, v);
    else usage_error("--config: unknown key '" + k + "' for amdv1");
  }
  static std::string level_name(unsigned level) { return "L" + std::to_string(level + 1); }
};

template <unsigned G, unsigned S>
struct format_info<genpt::armv8<G, S>> {
  using regs = typename genpt::hw_walker<genpt::armv8<G, S>>::regs;
  static void set(regs& r, const std::string& k, std::uint64_t v) {
    if (k == "tsz") r.tsz = small(k, v, 64);
    else if (k == "ttbr1" && S == 1) r.ttbr1 = bit01(k, v);
    else if (k == "ps") r.ps = small(k, v, 7);
    else if (k == "ds") r.ds = bit01(k, v);
    else if (k == "lpa") r.lpa = bit01(k, v);
    else if (k == "lva" && S == 1) r.lva = bit01(k, v);
    else if (k == "sl0" && S == 2) r.sl0 = small(k, v, 3);
    else if (k == "sl2" && S == 2) r.sl2 = small(k, v, 1);
    else if (k == "hpd" && S == 1) r.hpd = bit01(k, v);
    else if (k == "wxn" && S == 1) r.wxn = bit01(k, v);
    else if (k == "pan" && S == 1) r.pan = bit01(k, v);
    else if (k == "xnx" && S == 2) r.xnx = bit01(k, v);
    else usage_error("--config: unknown key '" + k + "' for armv8 stage " + std::to_string(S));
  }
  /// The Arm lookup level (3 - genpt level; -1 for genpt level 4).
  static std::string level_name(unsigned level) {
    return "L" + std::to_string(3 - static_cast<int>(level));
  }
};

template <>
struct format_info<genpt::riscv> {
  using regs = genpt::hw_walker<genpt::riscv>::regs;
  static void set(regs& r, const std::string& k, std::uint64_t v) {
    if (k == "levels") r.levels = small(k, v, 5);
    else if (k == "g_stage") r.g_stage = bit01(k, v);
    else if (k == "svnapot") r.svnapot = bit01(k, v);
    else if (k == "svpbmt") r.svpbmt = bit01(k, v);
    else if (k == "adue") r.adue = bit01(k, v);
    else if (k == "sum") r.sum = bit01(k, v);
    else if (k == "mxr") r.mxr = bit01(k, v);
    else usage_error("--config: unknown key '" + k + "' for riscv");
  }
  /// The spec's level i (the genpt level).
  static std::string level_name(unsigned level) { return "L" + std::to_string(level); }
};

/// VT-d second stage (Ept false) and EPT (Ept true): one regs layout.
template <bool Ept>
struct format_info<genpt::basic_vtd_ss<Ept>> {
  using regs = typename genpt::hw_walker<genpt::basic_vtd_ss<Ept>>::regs;
  static constexpr const char* name = Ept ? "ept" : "vtd_ss";
  static void set(regs& r, const std::string& k, std::uint64_t v) {
    if (k == "levels") r.levels = small(k, v, 5);
    else if (k == "va_bits") r.va_bits = small(k, v, 64);
    else if (k == "oa_bits") r.oa_bits = small(k, v, 52);
    else if (k == "ad") r.ad = bit01(k, v);
    else if (k == "exec") r.exec = bit01(k, v);
    else if (k == "snoop" && !Ept) r.snoop = bit01(k, v);
    else if (k == "exec_only" && Ept) r.exec_only = bit01(k, v);
    else if (k == "page_2m") r.page_2m = bit01(k, v);
    else if (k == "page_1g") r.page_1g = bit01(k, v);
    else usage_error("--config: unknown key '" + k + "' for " + name);
  }
  /// After every key: levels given without va_bits widens (or narrows)
  /// the input to all the levels decode (12 + 9 x levels bits).
  static void finish(regs& r, const std::vector<std::pair<std::string, std::uint64_t>>& config) {
    auto given = [&](std::string_view key) {
      return std::any_of(config.begin(), config.end(), [&](const auto& kv) { return kv.first == key; });
    };
    if (given("levels") && !given("va_bits")) r.va_bits = 12 + 9 * r.levels;
  }
  /// VT-d SS-PTE .. SS-PML5E; EPT PTE .. PML5E (one word: EPT-PTE).
  static std::string level_name(unsigned level) {
    constexpr const char* names[] = {"PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
    return std::string(Ept ? "EPT-" : "SS-") + (level <= 4 ? names[level] : "?");
  }
};

/// "k:rwx u:rwx": supervisor / EL1 read, write, execute; user / EL0 read,
/// write, execute, as the walk combined them.
std::string perms_text(const genpt::walk_perms& p) {
  std::string s = "k:";
  s += p.read ? 'r' : '-';
  s += p.write ? 'w' : '-';
  s += p.exec ? 'x' : '-';
  s += " u:";
  s += p.user && p.read ? 'r' : '-';
  s += p.user && p.write ? 'w' : '-';
  s += p.user_exec ? 'x' : '-';
  return s;
}

std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string_view kind_name(item_kind k) {
  switch (k) {
    case item_kind::invalid: return "invalid";
    case item_kind::table: return "table";
    case item_kind::leaf: return "leaf";
    case item_kind::bad: return "bad";
  }
  return "?";
}

template <class Format>
class decoder {
 public:
  using walker = genpt::hw_walker<Format>;
  using info = format_info<Format>;
  using regs = typename walker::regs;

  decoder(const options& o, const regs& r) : o_(o), r_(r) {}

  /// The walk of a leaf's first va with a supervisor read, else a write,
  /// else a fetch: its permissions, or the read's fault.
  genpt::walk_result leaf_walk(va_t va) const {
    genpt::walk_result w = walker::walk(r_, o_.root, va, access{}, o_.mem);
    if (w.ok || w.f.kind != fault_kind::permission) return w;
    for (const access a : {access{.write = true}, access{.exec = true}, access{.user = true}}) {
      const genpt::walk_result x = walker::walk(r_, o_.root, va, a, o_.mem);
      if (x.ok) return x;
    }
    return w;
  }

  std::string fault_text(const genpt::fault& f) const {
    return std::string(fault_name(f.kind)) + " at " + info::level_name(f.level) + " item " + hex(f.item_oa) +
           " word " + hex(f.word);
  }

  std::string top_text(const genpt::tree_top& t) const {
    if (t.no_table) return "no table (translation disabled)";
    if (!t.ok) return std::string("every walk faults: ") + std::string(fault_name(t.fault));
    return "top " + info::level_name(t.level) + " table " + hex(t.table) + " items " +
           std::to_string(std::uint64_t{1} << t.items_lg2);
  }

  int dump() const {
    genpt::tree_limits lim;
    lim.max_reads = o_.max_reads;
    std::string body;
    bool first = true;
    leaf_run run;
    const auto sum = genpt::visit_tree<Format>(
        r_, o_.root, o_.mem,
        [&](const genpt::tree_item& it) {
          if (o_.json) {
            body += first ? "\n    " : ",\n    ";
            first = false;
            body += item_json(it);
          } else {
            body += item_line(it, run);
          }
        },
        lim);
    if (o_.json) {
      std::string out = "{\n  \"format\": " + json_str(o_.format) + ",\n  \"root\": " + json_str(hex(o_.root)) +
                        ",\n  \"top\": {\"ok\": " + (sum.top.ok ? "true" : "false") +
                        ", \"no_table\": " + (sum.top.no_table ? "true" : "false");
      if (sum.top.ok)
        out += ", \"level\": " + std::to_string(sum.top.level) + ", \"table\": " + json_str(hex(sum.top.table)) +
               ", \"items_lg2\": " + std::to_string(sum.top.items_lg2);
      else if (!sum.top.no_table)
        out += ", \"fault\": " + json_str(fault_name(sum.top.fault));
      out += "},\n  \"items\": [" + body + (first ? "]" : "\n  ]") + ",\n  \"reads\": " + std::to_string(sum.reads) +
             ",\n  \"truncated\": " + (sum.truncated ? "true" : "false") + "\n}\n";
      std::fputs(out.c_str(), stdout);
    } else {
      std::printf("%s root %s %s\n", o_.format.c_str(), hex(o_.root).c_str(), top_text(sum.top).c_str());
      body += flush(run);
      std::fputs(body.c_str(), stdout);
      std::printf("%llu items, %llu words read%s\n", static_cast<unsigned long long>(sum.items),
                  static_cast<unsigned long long>(sum.reads),
                  sum.truncated ? ", truncated at --max-reads" : "");
    }
    return 0;
  }

  /// A run of leaf items printed as one line (see fold()).
  struct leaf_run {
    genpt::tree_item first, last;
    std::uint64_t count = 0;
    std::string tail;  ///< permissions / walk fault text, equal over the run
  };

  /// The line of `it`, or "" while `it` extends the pending leaf run.
  /// Consecutive leaf items of one table fold into one line "[i..j] xN"
  /// when their walk text is equal and each word is the previous one plus
  /// the item size (oa advancing with the va) or equal to it (AMD
  /// NextLevel 7 replicas); the line shows the first word.
  std::string item_line(const genpt::tree_item& it, leaf_run& run) const {
    if (!it.readable || it.d.kind != item_kind::leaf) return flush(run) + single_line(it);
    std::string tail = leaf_tail(it);
    if (run.count != 0) {
      const genpt::tree_item& p = run.last;
      const std::uint64_t step = std::uint64_t{1} << it.va_lg2;
      const bool next_item = p.level == it.level && p.depth == it.depth && p.index + 1 == it.index &&
                             p.item_oa + 8 == it.item_oa;
      const bool follows = (it.word - p.word == step && it.d.oa - p.d.oa == step) ||
                           (it.word == p.word && it.d.oa == p.d.oa);
      if (next_item && follows && tail == run.tail) {
        run.last = it;
        ++run.count;
        return "";
      }
    }
    std::string out = flush(run);
    run.first = run.last = it;
    run.count = 1;
    run.tail = std::move(tail);
    return out;
  }

  /// The pending run's line ("" when none), and no run pending.
  std::string flush(leaf_run& run) const {
    if (run.count == 0) return "";
    const genpt::tree_item& f = run.first;
    const genpt::tree_item& l = run.last;
    char idx[48];
    if (run.count == 1)
      std::snprintf(idx, sizeof idx, "[%3llu]", static_cast<unsigned long long>(f.index));
    else
      std::snprintf(idx, sizeof idx, "[%3llu..%llu] x%llu", static_cast<unsigned long long>(f.index),
                    static_cast<unsigned long long>(l.index), static_cast<unsigned long long>(run.count));
    std::string s(2 * f.depth, ' ');
    s += idx;
    s += " " + info::level_name(f.level) + " " + hex(f.va) + ".." + hex(l.va + ((std::uint64_t{1} << l.va_lg2) - 1)) +
         " " + hex(f.word) + " leaf " + size_name(f.d.size_lg2) + " oa " + hex(f.d.oa) + ".." +
         hex(l.d.oa + ((std::uint64_t{1} << l.d.size_lg2) - 1)) + " " + run.tail + "\n";
    run.count = 0;
    return s;
  }

  /// What the walk of a leaf's first va says: permissions (and the run
  /// size when the walk translates more than the item), or its fault.
  std::string leaf_tail(const genpt::tree_item& it) const {
    const genpt::walk_result w = leaf_walk(it.va);
    if (!w.ok) return "walk: " + fault_text(w.f);
    std::string s = perms_text(w.t.perms);
    if (w.t.size_lg2 != it.d.size_lg2) s += " run " + size_name(w.t.size_lg2);
    return s;
  }

  /// The line of a non-leaf item.
  std::string single_line(const genpt::tree_item& it) const {
    char idx[32];
    std::snprintf(idx, sizeof idx, "[%3llu]", static_cast<unsigned long long>(it.index));
    std::string s(2 * it.depth, ' ');
    s += idx;
    s += " " + info::level_name(it.level) + " " + hex(it.va) + ".." + hex(it.va + ((std::uint64_t{1} << it.va_lg2) - 1));
    if (!it.readable) return s + " unreadable (bus_error at " + hex(it.item_oa) + ")\n";
    s += " " + hex(it.word) + " ";
    switch (it.d.kind) {
      case item_kind::invalid:
        return s + "invalid\n";
      case item_kind::bad:
        return s + "bad " + std::string(fault_name(it.d.fault)) + "\n";
      case item_kind::table:
        s += "table -> " + hex(it.d.oa);
        if (it.d.next_level + 1 != it.level) s += " (next " + info::level_name(it.d.next_level) + ")";
        return s + "\n";
      case item_kind::leaf:
        break;
    }
    return s + "leaf\n";  // not reached: leaves go through item_line's runs
  }

  std::string item_json(const genpt::tree_item& it) const {
    std::string s = "{\"level\": " + std::to_string(it.level) + ", \"name\": " + json_str(info::level_name(it.level)) +
                    ", \"depth\": " + std::to_string(it.depth) + ", \"index\": " + std::to_string(it.index) +
                    ", \"item_oa\": " + json_str(hex(it.item_oa)) + ", \"va\": " + json_str(hex(it.va)) +
                    ", \"va_lg2\": " + std::to_string(it.va_lg2);
    if (!it.readable) return s + ", \"kind\": \"unreadable\", \"fault\": \"bus_error\"}";
    s += ", \"word\": " + json_str(hex(it.word)) + ", \"kind\": " + json_str(kind_name(it.d.kind));
    switch (it.d.kind) {
      case item_kind::invalid:
      case item_kind::bad:
        return s + ", \"fault\": " + json_str(fault_name(it.d.fault)) + "}";
      case item_kind::table:
        return s + ", \"next\": " + json_str(hex(it.d.oa)) + ", \"next_level\": " + std::to_string(it.d.next_level) + "}";
      case item_kind::leaf:
        break;
    }
    s += ", \"oa\": " + json_str(hex(it.d.oa)) + ", \"size_lg2\": " + std::to_string(it.d.size_lg2);
    return s + ", \"walk\": " + walk_json(leaf_walk(it.va)) + "}";
  }

  std::string walk_json(const genpt::walk_result& w) const {
    if (!w.ok)
      return "{\"ok\": false, \"fault\": " + json_str(fault_name(w.f.kind)) + ", \"level\": " +
             std::to_string(w.f.level) + ", \"spec_level\": " + std::to_string(w.f.spec_level) +
             ", \"item_oa\": " + json_str(hex(w.f.item_oa)) + ", \"word\": " + json_str(hex(w.f.word)) + "}";
    const auto& p = w.t.perms;
    auto b = [](bool v) { return v ? std::string("true") : std::string("false"); };
    return "{\"ok\": true, \"oa\": " + json_str(hex(w.t.oa)) + ", \"size_lg2\": " + std::to_string(w.t.size_lg2) +
           ", \"level\": " + std::to_string(w.t.level) + ", \"leaf\": " + json_str(hex(w.t.leaf)) +
           ", \"perms\": {\"read\": " + b(p.read) + ", \"write\": " + b(p.write) + ", \"exec\": " + b(p.exec) +
           ", \"user\": " + b(p.user) + ", \"user_exec\": " + b(p.user_exec) + "}}";
  }

  int translate() const {
    std::string out = o_.json ? "{\n  \"format\": " + json_str(o_.format) + ",\n  \"root\": " + json_str(hex(o_.root)) +
                                    ",\n  \"translations\": ["
                              : std::string();
    bool first = true;
    for (const va_t va : o_.vas) {
      const genpt::walk_result w = walker::walk(r_, o_.root, va, o_.acc, o_.mem);
      if (o_.json) {
        out += (first ? "\n    " : ",\n    ") + std::string("{\"va\": ") + json_str(hex(va)) +
               ", \"result\": " + walk_json(w) + "}";
        first = false;
      } else if (w.ok) {
        out += "va " + hex(va) + " -> oa " + hex(w.t.oa) + " size " + size_name(w.t.size_lg2) + " " +
               info::level_name(w.t.level) + " leaf " + hex(w.t.leaf) + " " + perms_text(w.t.perms) + "\n";
      } else if (w.f.kind == fault_kind::non_canonical ||
                 (w.f.item_oa == 0 && w.f.word == 0 && w.f.kind != fault_kind::bus_error)) {
        out += "va " + hex(va) + " fault " + std::string(fault_name(w.f.kind)) + " before any table read\n";
      } else {
        out += "va " + hex(va) + " fault " + fault_text(w.f) + "\n";
      }
    }
    if (o_.json) out += std::string(first ? "]" : "\n  ]") + "\n}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }

 private:
  const options& o_;
  regs r_;
};

/// Applies --config to `r` (the format's defaults, or a variant's) and runs the command.
template <class Format>
int run_format(const options& o, typename genpt::hw_walker<Format>::regs r) {
  for (const auto& [k, v] : o.config) format_info<Format>::set(r, k, v);
  if constexpr (requires { format_info<Format>::finish(r, o.config); }) format_info<Format>::finish(r, o.config);
  const decoder<Format> d(o, r);
  return o.command == "dump" ? d.dump() : d.translate();
}

int run(const options& o) {
  const std::string& f = o.format;
  if (f == "x86_64") return run_format<genpt::x86_64>(o, {});
  if (f == "x86_64-5") {
    genpt::hw_walker<genpt::x86_64>::regs r;
    r.la57 = true;
    return run_format<genpt::x86_64>(o, r);
  }
  if (f == "amdv1") return run_format<genpt::amdv1>(o, {});
  if (f == "armv8-4k-s1") return run_format<genpt::armv8_4k_s1>(o, {});
  if (f == "armv8-16k-s1") return run_format<genpt::armv8_16k_s1>(o, {});
  if (f == "armv8-64k-s1") return run_format<genpt::armv8_64k_s1>(o, {});
  if (f == "armv8-4k-s2") return run_format<genpt::armv8_4k_s2>(o, {});
  if (f == "armv8-16k-s2") return run_format<genpt::armv8_16k_s2>(o, {});
  if (f == "armv8-64k-s2") return run_format<genpt::armv8_64k_s2>(o, {});
  // riscv-sv39 .. riscv-sv57 (satp MODE 8 .. 10), the x4 names hgatp's G-stage modes.
  for (unsigned levels = 3; levels <= 5; ++levels) {
    const std::string sv = "riscv-sv" + std::to_string(12 + 9 * levels);
    if (f == sv || f == sv + "x4") {
      genpt::hw_walker<genpt::riscv>::regs r;
      r.levels = levels;
      r.g_stage = f != sv;
      return run_format<genpt::riscv>(o, r);
    }
  }
  if (f == "vtd_ss") return run_format<genpt::vtd_ss>(o, {});
  if (f == "ept") return run_format<genpt::ept>(o, {});
  usage_error("--format: unknown format '" + f + "'");
}

/// Parses the command line into `o`; false when --help was asked for.
bool parse(int argc, char** argv, options& o) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  std::vector<std::string_view> positional;
  bool pending_image = false;
  std::string image_path;
  oa_t image_base = 0;
  bool have_base = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) usage_error(std::string(a) + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") return false;
    if (a == "--format") {
      o.format = value();
    } else if (a == "--config") {
      std::string_view list = value();
      while (!list.empty()) {
        const std::size_t comma = std::min(list.find(','), list.size());
        const std::string_view kv = list.substr(0, comma);
        list.remove_prefix(comma == list.size() ? comma : comma + 1);
        const std::size_t eq = kv.find('=');
        if (eq == std::string_view::npos || eq == 0) usage_error("--config: expected KEY=VALUE, got '" + std::string(kv) + "'");
        o.config.emplace_back(std::string(kv.substr(0, eq)), number("--config " + std::string(kv.substr(0, eq)), kv.substr(eq + 1)));
      }
    } else if (a == "--root") {
      o.root = number("--root", value());
      o.have_root = true;
    } else if (a == "--image") {
      if (pending_image) usage_error("--image given twice (use --piece for more memory)");
      image_path = std::string(value());
      pending_image = true;
    } else if (a == "--base") {
      image_base = number("--base", value());
      have_base = true;
    } else if (a == "--piece") {
      const std::string_view pf = value();
      const std::size_t colon = pf.find(':');
      if (colon == std::string_view::npos || colon + 1 == pf.size()) usage_error("--piece: expected PA:FILE, got '" + std::string(pf) + "'");
      const oa_t pa = number("--piece", pf.substr(0, colon));
      const std::string path(pf.substr(colon + 1));
      o.mem.add(pa, read_file(path), path);
      o.have_memory = true;
    } else if (a == "--write") {
      o.acc.write = true;
    } else if (a == "--exec") {
      o.acc.exec = true;
    } else if (a == "--user") {
      o.acc.user = true;
    } else if (a == "--max-reads") {
      o.max_reads = number("--max-reads", value());
    } else if (a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
      usage_error("unknown option '" + std::string(a) + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (o.format.empty()) usage_error("--format is required");
  if (!o.have_root) usage_error("--root is required");
  if (have_base && !pending_image) usage_error("--base without --image");
  if (pending_image) {
    o.mem.add(image_base, read_file(image_path), image_path);
    o.have_memory = true;
  }
  if (!o.have_memory) usage_error("no memory: give --image FILE or --piece PA:FILE");
  std::size_t p = 0;
  if (p < positional.size() && positional[p] == "json") {
    o.json = true;
    ++p;
  }
  if (p >= positional.size()) usage_error(o.json ? "json needs dump or translate" : "no command: dump, translate VA... or json");
  const std::string_view cmd = positional[p++];
  if (cmd == "dump") {
    if (p != positional.size()) usage_error("dump takes no arguments, got '" + std::string(positional[p]) + "'");
  } else if (cmd == "translate") {
    if (p == positional.size()) usage_error("translate needs at least one VA");
    for (; p < positional.size(); ++p) o.vas.push_back(number("translate", positional[p]));
  } else {
    usage_error("unknown command '" + std::string(cmd) + "'");
  }
  o.command = std::string(cmd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fputs(usage_text, stdout);
    return 0;
  }
  return run(o);
}
