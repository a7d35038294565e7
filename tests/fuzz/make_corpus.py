#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py - writes the seed corpora of the fuzz harnesses.

    python3 tests/fuzz/make_corpus.py [tests/fuzz/corpus]

Deterministic (fixed seeds): rerunning it rewrites the same files. The
input layouts are decoded by tests/fuzz/fuzz_walk.cpp and fuzz_ops.cpp:

fuzz_walk  sel v1 v2 v3 [ARM register bytes] base root nva (va flags)*nva image
           - for every configuration: a "build" seed (v3 bit 4: maps with
             page_table, then walk == iova_to_phys), a random raw image;
           - hand-made 4K radix chains (x86_64 4/5-level PML4E..PTE, AMDv1
             mode 3 PDE/PTE, ARMv8 4K stage 1 L0..L3, RISC-V Sv39, VT-d
             4-level, EPT 4-level with A/D) as sparse images
             (v3 bit 6), walked with and without set_ad (flag bit 3).
fuzz_ops   sel, then operations: random bytes decode to valid sequences;
           two seeds per configuration.
"""
import os
import random
import struct
import sys

CONFIGS = 48  # genpt::fuzz::all_configs::size
X86_4, X86_5, AMD_MODE3, ARM_4K_S1_48, RISCV_SV39, VTD_4LEVEL, EPT_4LEVEL_AD = 0, 1, 5, 9, 34, 41, 45
BASE_4G = 5   # index of 0x1'0000'0000 in fuzz_walk.cpp's bases[]


def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)


def walk_header(sel, v1, v2, v3, base_idx, root_slot, vas):
    out = u8(sel) + u8(v1) + u8(v2) + u8(v3) + u8(base_idx) + u16(root_slot) + u8(len(vas) - 1)
    for va, flags in vas:
        out += u64(va) + u8(flags)
    return out


def sparse(words_m1, shift, records):
    out = u16(words_m1) + u8(shift)
    for idx, val in records:
        out += u32(idx) + u64(val)
    return out


def chain(base, va, levels, table_bits, leaf_bits, leaf_oa, shift0=12):
    """Records of a one-page-per-level chain translating va (4K radix, 9 bits a level)."""
    recs = []
    for k in range(levels):
        level = levels - 1 - k
        idx = (va >> (shift0 + 9 * level)) & 511
        if level == 0:
            recs.append((k * 512 + idx, leaf_oa | leaf_bits))
        else:
            recs.append((k * 512 + idx, (base + (k + 1) * 4096) | table_bits(level)))
    return recs


def walk_seeds(rng):
    seeds = {}
    base = 0x1_0000_0000
    va = 0x0000_1234_5678_9000
    accesses = [(va, 0), (va | 0x123, 1), (va, 8 | 1), (va ^ (1 << 30), 0), (va, 4 | 2)]
    # x86_64: P | R/W | U/S in every level.
    for sel, levels in ((X86_4, 4), (X86_5, 5)):
        recs = chain(base, va, levels, lambda l: 0x7, 0x7, 0x5555_5000)
        seeds[f'x86_{levels}level_chain'] = walk_header(sel, 0, 0, 0x40, BASE_4G, 0, accesses) + \
            sparse(levels * 512 - 1, 0, recs)
        # A 2 MiB leaf (PS) at the PDE, then a 1 GiB one at the PDPTE.
        r2 = recs[:levels - 2] + [((levels - 2) * 512 + ((va >> 21) & 511), 0x4020_0000 | 0x87)]
        seeds[f'x86_{levels}level_2m'] = walk_header(sel, 0x9f, 0x80, 0x40, BASE_4G, 0, accesses) + \
            sparse(levels * 512 - 1, 0, r2)
    # AMDv1 mode 3: PDE = PR | NextLevel (11:9) | addr | IR | IW; PTE NextLevel 0.
    ir_iw = (1 << 61) | (1 << 62)
    low_va = va & ((1 << 39) - 1)
    recs = chain(base, low_va, 3, lambda l: 1 | (l << 9) | ir_iw, 1 | ir_iw, 0x7777_7000)
    acc = [(low_va, 0), (low_va, 1 | 8), (low_va | 0xabc, 0), (low_va + 0x1000, 0)]
    seeds['amdv1_mode3_chain'] = walk_header(AMD_MODE3, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(3 * 512 - 1, 0, recs)
    # A NextLevel 7 run: a 16 KiB page replicated in 4 PTEs (address bits 12, 13 = 1, 0 -> 2^14).
    run = recs[:2] + [(2 * 512 + ((low_va >> 12) & 508) + i, 1 | (7 << 9) | ir_iw | 0x7777_1000) for i in range(4)]
    seeds['amdv1_mode3_nextlevel7'] = walk_header(AMD_MODE3, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(3 * 512 - 1, 0, run)
    # ARMv8 4K stage 1, 48-bit: table 0b11; page 0b11 | AF (bit 10).
    recs = chain(base, va, 4, lambda l: 0x3, 0x3 | (1 << 10), 0x6666_6000)
    acc = [(va, 0), (va, 1 | 8), (va, 4), (va | 0xfff, 2)]
    seeds['armv8_4k_s1_chain'] = walk_header(ARM_4K_S1_48, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(4 * 512 - 1, 0, recs)
    # AF = 0, DBM writable-clean: with HA / HD (v1 bits 0, 1) and set_ad the walk sets them.
    leaf = 0x3 | (1 << 51) | (1 << 7) | 0x6666_6000
    seeds['armv8_4k_s1_hafdbs'] = walk_header(ARM_4K_S1_48, 0x3, 0x80, 0x40, BASE_4G, 0, [(va, 1 | 8), (va, 8)]) + \
        sparse(4 * 512 - 1, 0, recs[:3] + [(3 * 512 + ((va >> 12) & 511), leaf)])
    # RISC-V Sv39: a non-leaf PTE is V | PPN << 10; the leaf V R W X U A D (0xdf).
    rv_va = va & ((1 << 38) - 1)
    recs = [(k * 512 + ((rv_va >> (12 + 9 * (2 - k))) & 511),
             ((((base + (k + 1) * 4096) >> 12) << 10) | 1) if k < 2 else (((0x4444_4000 >> 12) << 10) | 0xdf))
            for k in range(3)]
    acc = [(rv_va, 0), (rv_va, 1 | 8), (rv_va, 4 | 2), (rv_va | 0x7ff, 0)]
    seeds['riscv_sv39_chain'] = walk_header(RISCV_SV39, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(3 * 512 - 1, 0, recs)
    # VT-d second stage 4-level: R | W at every level; EPT with A/D: R W X, leaf memory type WB (6 << 3).
    low48 = va & ((1 << 47) - 1)
    acc = [(low48, 0), (low48, 1 | 8), (low48 | 0x10, 2)]
    recs = chain(base, low48, 4, lambda l: 0x3, 0x3, 0x3333_3000)
    seeds['vtd_ss_4level_chain'] = walk_header(VTD_4LEVEL, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(4 * 512 - 1, 0, recs)
    recs = chain(base, low48, 4, lambda l: 0x7, 0x37, 0x3333_3000)
    seeds['ept_4level_ad_chain'] = walk_header(EPT_4LEVEL_AD, 0, 0, 0x40, BASE_4G, 0, acc) + sparse(4 * 512 - 1, 0, recs)
    for sel in range(CONFIGS):
        # Build: maps through page_table over arena_levels, then probes.
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(40, 160)))
        seeds[f'build_{sel:02d}'] = u8(sel) + u8(0) + u8(0) + u8(0x10) + body
        # Raw image: random words, some of them valid-looking descriptors.
        img = b''.join(u64(rng.getrandbits(64) | 3 if rng.random() < 0.5 else 0) for _ in range(rng.randrange(16, 96)))
        vas = [(rng.getrandbits(64) if rng.random() < 0.5 else rng.getrandbits(40) << 12, rng.randrange(16))
               for _ in range(3)]
        seeds[f'raw_{sel:02d}'] = walk_header(sel, rng.randrange(256), rng.randrange(256) & 0x7f, 0,
                                              rng.randrange(12), rng.randrange(4), vas) + img
    return seeds


def ops_seeds(rng):
    seeds = {}
    for sel in range(CONFIGS):
        for k in range(2):
            n = rng.randrange(150, 600)
            seeds[f'ops_{sel:02d}_{k}'] = u8(sel) + u8(0x10 | rng.randrange(16)) + \
                bytes(rng.randrange(256) for _ in range(n))
    return seeds


def write(dirname, seeds):
    os.makedirs(dirname, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(dirname, name), 'wb') as f:
            f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus')
    write(os.path.join(root, 'fuzz_walk'), walk_seeds(random.Random(0x6e707431)))
    write(os.path.join(root, 'fuzz_ops'), ops_seeds(random.Random(0x6e707432)))


if __name__ == '__main__':
    main()
