// mkimages - writes the memory images genpt-decode's test decodes.
//
// usage: genpt-decode-mkimages OUT_DIR
//
// Tables are built with page_table over arena_levels (public interface
// only) and exported with arena_levels::image(): the bytes the hardware
// would read, at base oa 0x100000000. Then copies are corrupted by hand
// (x86-bad.img), locating the descriptors to corrupt by the SDM's own walk
// (CR3 -> PML4E[va 47:39] -> PDPTE[38:30] -> PDE[29:21], bits 51:12 the
// next table; riscv-bad.img and vtd-bad.img likewise by the RISC-V
// Privileged spec's walk and the VT-d second-stage walk), not by genpt's
// decode. Writes OUT_DIR/<name>.img and
// OUT_DIR/<name>.root (the root oa, hex). Exit status 1 on any failure.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "genpt/alloc/arena_levels.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/riscv.hpp"
#include "genpt/format/vtd_ss.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"

namespace {

using genpt::oa_t;
using genpt::prot;

constexpr oa_t base_oa = 0x1'0000'0000;
constexpr std::size_t arena_bytes = std::size_t{1} << 20;

/// A 64 KiB-aligned block the arena places tables in (16K / 64K granule tables need it).
struct block {
  block() : p(static_cast<std::byte*>(::operator new(arena_bytes, std::align_val_t{65536}))) {}
  ~block() { ::operator delete(p, std::align_val_t{65536}); }
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  std::byte* p;
};

bool write_file(const std::string& path, const void* bytes, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

bool write_image(const std::string& dir, const std::string& name, const std::vector<unsigned char>& bytes,
                 oa_t root) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx\n", static_cast<unsigned long long>(root));
  return write_file(dir + "/" + name + ".img", bytes.data(), bytes.size()) &&
         write_file(dir + "/" + name + ".root", buf, std::strlen(buf));
}

/// The little-endian word at `oa` of an image at base_oa.
std::uint64_t word_at(const std::vector<unsigned char>& img, oa_t oa) {
  std::uint64_t w = 0;
  for (unsigned i = 0; i < 8; ++i) w |= std::uint64_t{img.at(oa - base_oa + i)} << (8 * i);
  return w;
}
void set_word(std::vector<unsigned char>& img, oa_t oa, std::uint64_t w) {
  for (unsigned i = 0; i < 8; ++i) img.at(oa - base_oa + i) = static_cast<unsigned char>(w >> (8 * i));
}

template <class Table>
std::vector<unsigned char> image_of(const Table& pt) {
  const genpt::arena_image im = pt.allocator().image(pt.hw_info().root);
  const auto* b = reinterpret_cast<const unsigned char*>(im.bytes);  // any object's bytes may be read as unsigned char
  return std::vector<unsigned char>(b, b + im.size);
}

bool x86(const std::string& dir) {
  block mem;
  using table_t = genpt::page_table<genpt::x86_64, genpt::arena_levels>;
  genpt::x86_64::config c;  // 4-level, sign-extended, 52-bit OA
  auto t = table_t::create(c, genpt::arena_levels(mem.p, arena_bytes, base_oa));
  if (!t) return false;
  table_t& pt = *t;
  // A 4K read/write page, a 2M read-only page, a 1G supervisor no-exec
  // page in the upper half.
  if (!pt.map(0x40'0000, 0x1234'5000, 0x1000, prot::read | prot::write)) return false;
  if (!pt.map(0x60'0000, 0x4000'0000, 0x20'0000, prot::read)) return false;
  if (!pt.map(0xffff'8000'0000'0000, 0x1'4000'0000, 0x4000'0000, prot::read | prot::write | prot::noexec | prot::priv))
    return false;
  const oa_t root = pt.hw_info().root;
  std::vector<unsigned char> img = image_of(pt);
  if (!write_image(dir, "x86", img, root)) return false;

  // Corruptions, located by the SDM walk of va 0x400000 (PML4E 0, PDPTE 0, PDE 2).
  constexpr std::uint64_t addr = 0x000F'FFFF'FFFF'F000;  // bits 51:12
  const oa_t pdpt = word_at(img, root + 0 * 8) & addr;
  const oa_t pd = word_at(img, pdpt + 0 * 8) & addr;
  // PDE 2 (va 0x400000): its page table moved to 0x700000000, outside the image.
  const std::uint64_t pde2 = word_at(img, pd + 2 * 8);
  set_word(img, pd + 2 * 8, (pde2 & ~addr) | 0x7'0000'0000);
  // PDE 3 (va 0x600000, a 2 MiB page, PS = 1): bit 13 set, reserved (Table 4-18: bits 20:13).
  set_word(img, pd + 3 * 8, word_at(img, pd + 3 * 8) | (std::uint64_t{1} << 13));
  return write_image(dir, "x86-bad", img, root);
}

bool amd(const std::string& dir) {
  block mem;
  using table_t = genpt::page_table<genpt::amdv1, genpt::arena_levels>;
  genpt::amdv1::config c;  // starting level 2: DTE Mode 3
  auto t = table_t::create(c, genpt::arena_levels(mem.p, arena_bytes, base_oa));
  if (!t) return false;
  table_t& pt = *t;
  // A 4K read-only page, an 8K read/write page (NextLevel 7, two replicas),
  // a 2M write-only page.
  if (!pt.map(0x1000, 0x9000'1000, 0x1000, prot::read)) return false;
  if (!pt.map(0x4000, 0x9000'4000, 0x2000, prot::read | prot::write)) return false;
  if (!pt.map(0x20'0000, 0xa000'0000, 0x20'0000, prot::write)) return false;
  return write_image(dir, "amd", image_of(pt), pt.hw_info().root);
}

template <class Format>
bool arm(const std::string& dir, const std::string& name) {
  block mem;
  using table_t = genpt::page_table<Format, genpt::arena_levels>;
  typename Format::config c;  // 48-bit VA and OA
  auto t = table_t::create(c, genpt::arena_levels(mem.p, arena_bytes, base_oa));
  if (!t) return false;
  table_t& pt = *t;
  // A read/write page, a read-only block of the level above, and 16 (4K:
  // 64K, Contiguous) or 32 (16K: 512K, Contiguous) read-only pages.
  const std::uint64_t g = std::uint64_t{1} << Format::granule_lg2;
  const std::uint64_t block_size = g << (Format::granule_lg2 - 3);
  const std::uint64_t run = g * (Format::granule_lg2 == 12 ? 16 : 32);
  if (!pt.map(g, 0x8000'0000 + g, g, prot::read | prot::write)) return false;
  if (!pt.map(block_size, 0x4000'0000, block_size, prot::read)) return false;
  if (!pt.map(run * 2, 0x9000'0000, run, prot::read)) return false;
  return write_image(dir, name, image_of(pt), pt.hw_info().root);
}

bool riscv(const std::string& dir) {
  block mem;
  using table_t = genpt::page_table<genpt::riscv, genpt::arena_levels>;
  genpt::riscv::config c;  // Sv39 (satp MODE 8), 39-bit VA sign-extended, 56-bit PA
  c.levels = 3;
  c.features = genpt::riscv::sign_extend | genpt::riscv::svnapot;
  auto t = table_t::create(c, genpt::arena_levels(mem.p, arena_bytes, base_oa));
  if (!t) return false;
  table_t& pt = *t;
  // A 4K read/write user page (U = 1), a 2M read/exec supervisor megapage
  // (U = 0), a 64K NAPOT read/exec user range (Svnapot: 16 equal PTEs) and
  // a 1G read/write no-exec supervisor gigapage in the upper half.
  if (!pt.map(0x40'0000, 0x8123'4000, 0x1000, prot::read | prot::write)) return false;
  if (!pt.map(0x60'0000, 0x8040'0000, 0x20'0000, prot::read | prot::priv)) return false;
  if (!pt.map(0x1'0000, 0x9000'0000, 0x1'0000, prot::read)) return false;
  if (!pt.map(0xffff'ffc0'0000'0000, 0x1'4000'0000, 0x4000'0000, prot::read | prot::write | prot::noexec | prot::priv))
    return false;
  const oa_t root = pt.hw_info().root;
  std::vector<unsigned char> img = image_of(pt);
  if (!write_image(dir, "riscv", img, root)) return false;

  // Corruptions, located by the spec's walk (a = satp.PPN x 4096, PTE at
  // a + vpn[i] x 8, next a = PTE.PPN (bits 53:10) x 4096):
  // L2[0] -> L1 table; L1[2] points to va 0x400000's L0 table, L1[3] is
  // the megapage at va 0x600000; L2[256] the gigapage at 0xffffffc000000000.
  constexpr std::uint64_t ppn = 0x003F'FFFF'FFFF'FC00;  // bits 53:10
  const oa_t l1 = (word_at(img, root + 0 * 8) & ppn) << 2;
  // L1[2]: V (bit 0) cleared: not valid, a page fault.
  set_word(img, l1 + 2 * 8, word_at(img, l1 + 2 * 8) & ~std::uint64_t{1});
  // L1[3]: PPN bit 0 (PTE bit 10) set: a misaligned megapage (ppn[0] != 0).
  set_word(img, l1 + 3 * 8, word_at(img, l1 + 3 * 8) | (std::uint64_t{1} << 10));
  // L2[256]: bit 60 set, reserved (bits 60:54).
  set_word(img, root + 256 * 8, word_at(img, root + 256 * 8) | (std::uint64_t{1} << 60));
  return write_image(dir, "riscv-bad", img, root);
}

/// VT-d second stage (vtd.img, vtd-bad.img) or EPT (ept.img): 4 levels,
/// 48-bit input, 52-bit output, no optional features.
template <class Format>
bool second_stage(const std::string& dir, const std::string& name) {
  block mem;
  using table_t = genpt::page_table<Format, genpt::arena_levels>;
  typename Format::config c;
  c.top_level = 3;  // SS-PML4 / EPT PML4: 4 levels
  c.va_lg2 = 48;
  c.oa_lg2 = 52;
  auto t = table_t::create(c, genpt::arena_levels(mem.p, arena_bytes, base_oa));
  if (!t) return false;
  table_t& pt = *t;
  // A 4K read/write page, a 2M read-only page, a 1G page (VT-d: write
  // only; EPT: read/write, W needs R) and a 4K read-only page at the top
  // of the 48-bit space.
  if (!pt.map(0x40'0000, 0x1234'5000, 0x1000, prot::read | prot::write)) return false;
  if (!pt.map(0x60'0000, 0x4000'0000, 0x20'0000, prot::read | prot::noexec)) return false;
  if (!pt.map(0x8000'0000, 0x1'4000'0000, 0x4000'0000, prot::write | prot::noexec)) return false;
  if (!pt.map(0x7fff'ffff'f000, 0x5555'5000, 0x1000, prot::read | prot::noexec)) return false;
  const oa_t root = pt.hw_info().root;
  std::vector<unsigned char> img = image_of(pt);
  if (!write_image(dir, name, img, root)) return false;
  if constexpr (Format::is_ept) return true;

  // Corruptions, located by the VT-d walk of va 0x400000 (SS-PML4E 0,
  // SS-PDPTE 0, SS-PDE 2; address bits 51:12 the next table).
  constexpr std::uint64_t addr = 0x000F'FFFF'FFFF'F000;
  const oa_t pdpt = word_at(img, root + 0 * 8) & addr;
  const oa_t pd = word_at(img, pdpt + 0 * 8) & addr;
  // SS-PDE 2 (va 0x400000, a table pointer): bit 62 set, reserved.
  set_word(img, pd + 2 * 8, word_at(img, pd + 2 * 8) | (std::uint64_t{1} << 62));
  // SS-PDE 3 (va 0x600000, a 2 MiB page): bit 12 set, reserved (bits 20:12).
  set_word(img, pd + 3 * 8, word_at(img, pd + 3 * 8) | (std::uint64_t{1} << 12));
  // SS-PDPTE 2 (va 0x80000000, the 1 GiB write-only page): W cleared, so
  // R = W = X = 0: not present.
  set_word(img, pdpt + 2 * 8, word_at(img, pdpt + 2 * 8) & ~std::uint64_t{2});
  return write_image(dir, name + "-bad", img, root);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: genpt-decode-mkimages OUT_DIR\n", stderr);
    return 2;
  }
  const std::string dir = argv[1];
  if (!x86(dir) || !amd(dir) || !arm<genpt::armv8_4k_s1>(dir, "arm4k-s1") ||
      !arm<genpt::armv8_16k_s2>(dir, "arm16k-s2") || !riscv(dir) ||
      !second_stage<genpt::vtd_ss>(dir, "vtd") || !second_stage<genpt::ept>(dir, "ept")) {
    std::fputs("genpt-decode-mkimages: failed\n", stderr);
    return 1;
  }
  return 0;
}
