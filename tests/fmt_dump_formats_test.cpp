// tests/fmt_dump_formats_test.cpp - genpt/fmt.hpp for AMDv1, ARMv8, RISC-V,
// VT-d second stage and EPT: the
// attrs formatters and golden dumps (spec level names, raw descriptors,
// decoded fields, contiguous runs folded into one line). Every descriptor
// below is written out by hand from the spec bit layouts; table addresses
// are masked (dump_options::table_oa is off), so heap tables give exact text.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include <fmt/core.h>

#include "genpt/fmt.hpp"
#include "genpt/genpt.hpp"

namespace {

using genpt::prot;

TEST(fmt_formatters, busy_has_a_name) {
  EXPECT_EQ(fmt::format("{}", genpt::errc::busy), "busy");
  EXPECT_EQ(fmt::format("{}", static_cast<genpt::errc>(10)), "errc(10)");
}

TEST(fmt_formatters, amdv1_attrs) {
  genpt::amdv1::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "none");
  a.read = a.write = true;
  EXPECT_EQ(fmt::format("{}", a), "read|write");
  const genpt::amdv1::attrs all{true, true, true, true, true, true, true};
  EXPECT_EQ(fmt::format("{}", all),
            "read|write|force_coherent|untranslated_only|accessed|dirty|encrypted");
}

TEST(fmt_formatters, armv8_stage1_attrs) {
  genpt::armv8_4k_s1::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "attr0");
  a = {.attr_index = 2, .ns = true, .el0 = true, .read_only = true, .sh = 3, .af = true,
       .ng = true, .dbm = true, .pxn = true, .uxn = true};
  EXPECT_EQ(fmt::format("{}", a), "attr2|ns|el0|ro|ish|af|ng|dbm|pxn|uxn");
  genpt::armv8_16k_s1::attrs b;
  b.sh = 2;
  EXPECT_EQ(fmt::format("{}", b), "attr0|osh");
}

TEST(fmt_formatters, armv8_stage2_attrs) {
  genpt::armv8_64k_s2::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "memattr0");
  a = {.mem_attr = 0xF, .read = true, .write = true, .sh = 3, .af = true, .dbm = true, .xn = 2};
  EXPECT_EQ(fmt::format("{}", a), "memattrf|read|write|ish|af|dbm|xn2");
}

// AMDv1 mode 3 (top = AMD level 3). Descriptors (IOMMU spec §2.2.3): PR
// bit 0, D bit 6, NextLevel 11:9, address 51:12, FC 60, IR 61, IW 62.
// Table items show PR | NextLevel | IR | IW with the address masked.
TEST(fmt_dump, golden_amdv1) {
  genpt::level_stats stats;
  {
    genpt::amdv1::config c;
    c.starting_level = 2;
    auto t = genpt::page_table<genpt::amdv1>::create(c, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    const prot rw = prot::read | prot::write;
    ASSERT_TRUE(pt.map(0, 0x4000'0000, 0x4000'0000, rw));                 // 1G, NextLevel 0
    ASSERT_TRUE(pt.map(0x4001'0000, 0x1234'0000, 0x4000, rw));            // 16K: 4 items, NL 7
    ASSERT_TRUE(pt.map(0x4002'0000, 0x5000, 0x1000, prot::read));         // 4K, then D set
    ASSERT_TRUE(pt.set_dirty(0x4002'0000));
    ASSERT_TRUE(pt.map(0x4010'0000, 0x10'0000, 0x10'0000, rw));           // 1M: 256 items, NL 7
    genpt::amdv1::attrs fc{.read = true, .write = true, .force_coherent = true};
    ASSERT_TRUE(pt.map(0x4020'0000, 0x4060'0000, 0x20'0000, fc));         // 2M with FC
    EXPECT_EQ(genpt::dump(pt),
              "[  0] L3 0x0000000000000000..0x000000003fffffff 0x6000000040000001 1G "
              "oa 0x0000000040000000 read|write\n"
              "[  1] L3 0x0000000040000000..0x000000007fffffff 0x6000000000000401 table\n"
              "  [  0] L2 0x0000000040000000..0x00000000401fffff 0x6000000000000201 table\n"
              "    [ 16..19] \u00d74 L1 0x0000000040010000..0x0000000040013fff 0x6000000012341e01 16K "
              "oa 0x0000000012340000..0x0000000012343fff read|write\n"
              "    [ 32] L1 0x0000000040020000..0x0000000040020fff 0x2000000000005041 4K "
              "oa 0x0000000000005000 read|dirty\n"
              "    [256..511] \u00d7256 L1 0x0000000040100000..0x00000000401fffff 0x600000000017fe01 1M "
              "oa 0x0000000000100000..0x00000000001fffff read|write\n"
              "  [  1] L2 0x0000000040200000..0x00000000403fffff 0x7000000040600001 2M "
              "oa 0x0000000040600000 read|write|force_coherent\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

// ARMv8 4K stage 1, 48-bit VA (top L0), with DBM. Arm ARM D8.3: valid bit
// 0, table/page bit 1, AttrIndx 4:2, AP[1] 6, AP[2] 7, SH 9:8, AF 10, nG 11,
// DBM 51, Contiguous 52; each page of a contiguous run holds its own OA.
TEST(fmt_dump, golden_armv8_4k_stage1) {
  genpt::level_stats stats;
  {
    genpt::armv8_4k_s1::config c;
    c.features = genpt::armv8_4k_s1::dbm;
    auto t = genpt::page_table<genpt::armv8_4k_s1>::create(c, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    const prot rwc = prot::read | prot::write | prot::cache;
    ASSERT_TRUE(pt.map(0x3000, 0x9000, 0x1000, prot::read));               // page, read-only
    ASSERT_TRUE(pt.map(0x1'0000, 0x5000'0000, 0x1'0000, rwc));            // 64K: 16 pages, CONT
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 0x20'0000, rwc));          // 2M block
    EXPECT_EQ(genpt::dump(pt),
              "[  0] L0 0x0000000000000000..0x0000007fffffffff 0x0000000000000003 table\n"
              "  [  0] L1 0x0000000000000000..0x000000003fffffff 0x0000000000000003 table\n"
              "    [  0] L2 0x0000000000000000..0x00000000001fffff 0x0000000000000003 table\n"
              "      [  3] L3 0x0000000000003000..0x0000000000003fff 0x0000000000009ec3 4K "
              "oa 0x0000000000009000 attr0|el0|ro|osh|af|ng\n"
              "      [ 16..31] \u00d716 L3 0x0000000000010000..0x000000000001ffff 0x0018000050000f47 64K "
              "oa 0x0000000050000000..0x000000005000ffff attr1|el0|ish|af|ng|dbm\n"
              "    [  1] L2 0x0000000000200000..0x00000000003fffff 0x0008000040000f45 2M "
              "oa 0x0000000040000000 attr1|el0|ish|af|ng|dbm\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

// ARMv8 64K stage 2, 48-bit IPA (top L1 of 64 items), with DBM. D8.3:
// MemAttr 5:2, S2AP read 6 / write 7, SH 9:8, AF 10, DBM 51, Contiguous
// 52, XN 54:53.
TEST(fmt_dump, golden_armv8_64k_stage2) {
  genpt::level_stats stats;
  {
    genpt::armv8_64k_s2::config c;
    c.features = genpt::armv8_64k_s2::dbm;
    auto t = genpt::page_table<genpt::armv8_64k_s2>::create(c, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    const prot rwc = prot::read | prot::write | prot::cache;
    ASSERT_TRUE(pt.map(0x1'0000, 0x3'0000, 0x1'0000, prot::read | prot::noexec));  // page
    ASSERT_TRUE(pt.map(0x20'0000, 0x60'0000, 0x20'0000, rwc));            // 2M: 32 pages, CONT
    ASSERT_TRUE(pt.map(0x2000'0000, 0x4000'0000, 0x2000'0000, rwc));      // 512M block
    EXPECT_EQ(genpt::dump(pt),
              "[  0] L1 0x0000000000000000..0x000003ffffffffff 0x0000000000000003 table\n"
              "  [  0] L2 0x0000000000000000..0x000000001fffffff 0x0000000000000003 table\n"
              "    [  1] L3 0x0000000000010000..0x000000000001ffff 0x0040000000030657 64K "
              "oa 0x0000000000030000 memattr5|read|osh|af|xn2\n"
              "    [ 32..63] \u00d732 L3 0x0000000000200000..0x00000000003fffff 0x00180000006007ff 2M "
              "oa 0x0000000000600000..0x00000000007fffff memattrf|read|write|ish|af|dbm\n"
              "  [  1] L2 0x0000000020000000..0x000000003fffffff 0x00080000400007fd 512M "
              "oa 0x0000000040000000 memattrf|read|write|ish|af|dbm\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

TEST(fmt_formatters, riscv_attrs) {
  genpt::riscv::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "none");
  a = {.read = true, .write = true, .exec = true, .user = true, .global = true, .accessed = true,
       .dirty = true, .pbmt = 2, .rsw = 1};
  EXPECT_EQ(fmt::format("{}", a), "read|write|exec|user|global|accessed|dirty|pbmt2|rsw1");
}

TEST(fmt_formatters, vtd_ss_attrs) {
  genpt::vtd_ss::attrs a;
  EXPECT_EQ(fmt::format("{}", a), "none");
  a = {.read = true, .write = true, .exec = true, .user_exec = true, .snoop = true, .emt = 6,
       .ipat = true, .accessed = true, .dirty = true, .suppress_ve = true};
  EXPECT_EQ(fmt::format("{}", a), "read|write|exec|user_exec|snoop|emt6|ipat|accessed|dirty|suppress_ve");
}

// RISC-V Sv39 with Svnapot and Svpbmt. Privileged spec, Sv39 PTE: V 0, R 1,
// W 2, X 3, U 4, G 5, A 6, D 7, RSW 9:8, PPN 53:10 (PA >> 12), PBMT 62:61
// (0 PMA, 1 NC, 2 IO), N 63; a 64 KiB NAPOT PTE has ppn[0][3:0] = 1000b.
// Non-leaf PTEs are V alone (R = W = X = 0) plus the PPN (masked here).
TEST(fmt_dump, golden_riscv_sv39) {
  genpt::level_stats stats;
  {
    genpt::riscv::config c;
    c.levels = 3;
    c.features = genpt::riscv::sign_extend | genpt::riscv::svnapot | genpt::riscv::svpbmt;
    auto t = genpt::page_table<genpt::riscv>::create(c, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    const prot rwc = prot::read | prot::write | prot::cache;
    ASSERT_TRUE(pt.map(0x3000, 0x9000, 0x1000, prot::read));                      // R X U A, PBMT NC
    ASSERT_TRUE(pt.map(0x5000, 0xa000, 0x1000, prot::read | prot::priv | prot::cache));  // U = 0
    ASSERT_TRUE(pt.map(0x1'0000, 0x5000'0000, 0x1'0000, rwc));                   // 64K NAPOT x16
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 0x20'0000,
                       prot::read | prot::write | prot::noexec | prot::mmio));     // 2M, PBMT IO
    ASSERT_TRUE(pt.map(0xffff'ffc0'0000'0000, 0x8000'0000, 0x4000'0000, rwc));  // 1G, upper half
    EXPECT_EQ(genpt::dump(pt),
              "[  0] L2 0x0000000000000000..0x000000003fffffff 0x0000000000000001 table\n"
              "  [  0] L1 0x0000000000000000..0x00000000001fffff 0x0000000000000001 table\n"
              "    [  3] L0 0x0000000000003000..0x0000000000003fff 0x200000000000245b 4K "
              "oa 0x0000000000009000 read|exec|user|accessed|pbmt1\n"
              "    [  5] L0 0x0000000000005000..0x0000000000005fff 0x000000000000284b 4K "
              "oa 0x000000000000a000 read|exec|accessed\n"
              "    [ 16..31] \u00d716 L0 0x0000000000010000..0x000000000001ffff 0x80000000140020df 64K "
              "oa 0x0000000050000000..0x000000005000ffff read|write|exec|user|accessed|dirty\n"
              "  [  1] L1 0x0000000000200000..0x00000000003fffff 0x40000000100000d7 2M "
              "oa 0x0000000040000000 read|write|user|accessed|dirty|pbmt2\n"
              "[256] L2 0xffffffc000000000..0xffffffc03fffffff 0x00000000200000df 1G "
              "oa 0x0000000080000000 read|write|exec|user|accessed|dirty\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

// EPT, 4 levels, A/D on. SDM Vol. 3C §29.3.2: R 0, W 1, X 2, memory type
// 5:3 (6 = WB, 0 = UC), ignore PAT 6, page size 7, A 8, D 9, address
// 51:12. Non-leaf entries hold R | W | X (address masked here).
TEST(fmt_dump, golden_ept_4level_ad) {
  genpt::level_stats stats;
  {
    genpt::ept::config c;
    c.features = genpt::ept::ad;
    auto t = genpt::page_table<genpt::ept>::create(c, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    ASSERT_TRUE(pt.map(0x3000, 0x9000, 0x1000, prot::read));                     // R X WB A
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 0x20'0000,
                       prot::read | prot::write | prot::noexec | prot::mmio));    // 2M UC IPAT
    ASSERT_TRUE(pt.map(0x4000'0000, 0x8000'0000, 0x4000'0000,
                       prot::read | prot::write | prot::cache));                  // 1G WB
    EXPECT_EQ(genpt::dump(pt),
              "[  0] EPT PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000007 table\n"
              "  [  0] EPT PDPTE 0x0000000000000000..0x000000003fffffff 0x0000000000000007 table\n"
              "    [  0] EPT PDE   0x0000000000000000..0x00000000001fffff 0x0000000000000007 table\n"
              "      [  3] EPT PTE   0x0000000000003000..0x0000000000003fff 0x0000000000009135 4K "
              "oa 0x0000000000009000 read|exec|emt6|accessed\n"
              "    [  1] EPT PDE   0x0000000000200000..0x00000000003fffff 0x00000000400003c3 2M "
              "oa 0x0000000040000000 read|write|ipat|accessed|dirty\n"
              "  [  1] EPT PDPTE 0x0000000040000000..0x000000007fffffff 0x00000000800003b7 1G "
              "oa 0x0000000080000000 read|write|exec|emt6|accessed|dirty\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

// VT-d second stage, 4 levels, no optional features. VT-d spec §9.8: R 0,
// W 1 (write-only is allowed), X 2, PS 7, address 51:12; non-leaf
// entries hold R | W | X (X is ignored without execute requests).
TEST(fmt_dump, golden_vtd_ss_4level) {
  genpt::level_stats stats;
  {
    auto t = genpt::page_table<genpt::vtd_ss>::create(genpt::vtd_ss::config{}, genpt::heap_levels(&stats));
    ASSERT_TRUE(t);
    auto& pt = *t;
    ASSERT_TRUE(pt.map(0x3000, 0x9000, 0x1000, prot::read | prot::write));
    ASSERT_TRUE(pt.map(0x4000, 0xb000, 0x1000, prot::write));
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 0x20'0000, prot::read | prot::cache));
    EXPECT_EQ(genpt::dump(pt),
              "[  0] SS-PML4E 0x0000000000000000..0x0000007fffffffff 0x0000000000000007 table\n"
              "  [  0] SS-PDPTE 0x0000000000000000..0x000000003fffffff 0x0000000000000007 table\n"
              "    [  0] SS-PDE   0x0000000000000000..0x00000000001fffff 0x0000000000000007 table\n"
              "      [  3] SS-PTE   0x0000000000003000..0x0000000000003fff 0x0000000000009003 4K "
              "oa 0x0000000000009000 read|write\n"
              "      [  4] SS-PTE   0x0000000000004000..0x0000000000004fff 0x000000000000b002 4K "
              "oa 0x000000000000b000 write\n"
              "    [  1] SS-PDE   0x0000000000200000..0x00000000003fffff 0x0000000040000081 2M "
              "oa 0x0000000040000000 read\n");
  }
  EXPECT_EQ(stats.live_tables.load(), 0);
}

}  // namespace
