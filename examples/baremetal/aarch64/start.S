// start.S - entry point, exception vectors, fault probes, the EL2 guest
// runner and the mem* functions of the genpt bare-metal AArch64 kernels.
//
// Vector layout: Arm ARM (DDI 0487) D1.10.2 "Exception vectors": a table of
// 16 entries of 0x80 bytes, 2 KiB aligned; 0x200 = synchronous exception
// from the current EL with SP_ELx, 0x400 = synchronous exception from a
// lower EL using AArch64.
//
// Fault probes: each probe is a tiny function whose one memory access has a
// global label (*_insn). The synchronous handler records ESR/FAR/ELR in
// bm_exc and, when ELR is such a label, resumes at the probe's *_fix label,
// which returns 1 ("faulted"); any other exception is unexpected and goes
// to bm_unexpected (C++), which prints it and ends the run.

// bm_exc layout (bm_support.hpp struct exc_record).
#define EXC_ESR 0
#define EXC_FAR 8
#define EXC_ELR 16
#define EXC_HPFAR 24
#define EXC_X0 32
#define EXC_COUNT 40

        .section .text.boot, "ax"
        .globl _start
_start:
        // Mask every interrupt (PSTATE.DAIF); nothing here takes one.
        msr     daifset, #0xf
        // Use SP_ELx at the boot EL (PSTATE.SPSel = 1).
        msr     spsel, #1
        ldr     x0, =__stack_top
        mov     sp, x0
        // Zero .bss (QEMU's ELF loader leaves RAM zero, real loaders may not).
        ldr     x0, =__bss_start
        ldr     x1, =__bss_end
1:      cmp     x0, x1
        b.hs    2f
        str     xzr, [x0], #8
        b       1b
2:      bl      bm_main
        // bm_main exits through semihosting; never reached.
3:      wfi
        b       3b

        .text

// -- Fault probes ----------------------------------------------------------

// int bm_probe_read(uint64_t va, uint64_t* value): 0 = read *va into
// *value, 1 = the load faulted.
        .globl bm_probe_read, bm_probe_read_insn
        .type bm_probe_read, %function
bm_probe_read:
bm_probe_read_insn:
        ldr     x2, [x0]
        str     x2, [x1]
        mov     x0, #0
        ret
bm_probe_read_fix:
        mov     x0, #1
        ret

// int bm_probe_write(uint64_t va, uint64_t value): 0 = stored, 1 = faulted.
        .globl bm_probe_write, bm_probe_write_insn
        .type bm_probe_write, %function
bm_probe_write:
bm_probe_write_insn:
        str     x1, [x0]
        mov     x0, #0
        ret
bm_probe_write_fix:
        mov     x0, #1
        ret

// -- EL1 vectors (stage 1 kernels) -----------------------------------------

.macro vec_unexpected el, idx
        .balign 0x80
        mov     x0, #\idx
        mrs     x1, esr_\el
        mrs     x2, far_\el
        mrs     x3, elr_\el
        b       bm_unexpected
.endm

        .balign 2048
        .globl bm_vectors_el1
bm_vectors_el1:
        vec_unexpected el1, 0
        vec_unexpected el1, 1
        vec_unexpected el1, 2
        vec_unexpected el1, 3
        .balign 0x80
        b       el1_sync
        vec_unexpected el1, 5
        vec_unexpected el1, 6
        vec_unexpected el1, 7
        vec_unexpected el1, 8
        vec_unexpected el1, 9
        vec_unexpected el1, 10
        vec_unexpected el1, 11
        vec_unexpected el1, 12
        vec_unexpected el1, 13
        vec_unexpected el1, 14
        vec_unexpected el1, 15

// Synchronous exception at EL1: record it; resume a probe at its fixup.
el1_sync:
        sub     sp, sp, #32
        stp     x0, x1, [sp]
        stp     x2, x3, [sp, #16]
        adrp    x3, bm_exc
        add     x3, x3, :lo12:bm_exc
        mrs     x0, esr_el1
        mrs     x1, far_el1
        mrs     x2, elr_el1
        stp     x0, x1, [x3, #EXC_ESR]
        str     x2, [x3, #EXC_ELR]
        ldr     x0, [x3, #EXC_COUNT]
        add     x0, x0, #1
        str     x0, [x3, #EXC_COUNT]
        adr     x0, bm_probe_read_insn
        adr     x1, bm_probe_read_fix
        cmp     x2, x0
        b.eq    1f
        adr     x0, bm_probe_write_insn
        adr     x1, bm_probe_write_fix
        cmp     x2, x0
        b.eq    1f
        // Not a probe: report and stop.
        mov     x0, #4
        mrs     x1, esr_el1
        mrs     x2, far_el1
        mrs     x3, elr_el1
        b       bm_unexpected
1:      msr     elr_el1, x1
        ldp     x2, x3, [sp, #16]
        ldp     x0, x1, [sp]
        add     sp, sp, #32
        eret

// -- EL2: the guest runner (stage 2 kernel) ----------------------------------

// uint64_t bm_run_guest(uint64_t entry, uint64_t a0, uint64_t a1): enters
// EL1h at `entry` (interrupts masked) with x0 = a0, x1 = a1; returns when
// the guest traps to EL2 (HVC or a stage 2 abort), with bm_exc holding
// ESR_EL2, FAR_EL2, ELR_EL2, HPFAR_EL2 and the guest's x0.
        .globl bm_run_guest
        .type bm_run_guest, %function
bm_run_guest:
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        adrp    x9, bm_host_sp
        mov     x10, sp
        str     x10, [x9, :lo12:bm_host_sp]
        msr     elr_el2, x0
        // SPSR_EL2: M[3:0] = 0b0101 (EL1h), DAIF masked (bits 9:6);
        // Arm ARM C5.2.19 SPSR_EL2.
        mov     x9, #0x3c5
        msr     spsr_el2, x9
        mov     x0, x1
        mov     x1, x2
        isb
        eret

// Synchronous exception from EL1 (lower EL, AArch64): the guest exited.
el2_guest_exit:
        adrp    x9, bm_exc
        add     x9, x9, :lo12:bm_exc
        mrs     x10, esr_el2
        str     x10, [x9, #EXC_ESR]
        mrs     x10, far_el2
        str     x10, [x9, #EXC_FAR]
        mrs     x10, elr_el2
        str     x10, [x9, #EXC_ELR]
        mrs     x10, hpfar_el2
        str     x10, [x9, #EXC_HPFAR]
        str     x0, [x9, #EXC_X0]
        ldr     x10, [x9, #EXC_COUNT]
        add     x10, x10, #1
        str     x10, [x9, #EXC_COUNT]
        adrp    x9, bm_host_sp
        ldr     x10, [x9, :lo12:bm_host_sp]
        mov     sp, x10
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     x29, x30, [sp], #96
        mov     x0, #0
        ret

        .balign 2048
        .globl bm_vectors_el2
bm_vectors_el2:
        vec_unexpected el2, 0
        vec_unexpected el2, 1
        vec_unexpected el2, 2
        vec_unexpected el2, 3
        vec_unexpected el2, 4
        vec_unexpected el2, 5
        vec_unexpected el2, 6
        vec_unexpected el2, 7
        .balign 0x80
        b       el2_guest_exit
        vec_unexpected el2, 9
        vec_unexpected el2, 10
        vec_unexpected el2, 11
        vec_unexpected el2, 12
        vec_unexpected el2, 13
        vec_unexpected el2, 14
        vec_unexpected el2, 15

// Guest (EL1) code: each routine ends in HVC, so EL2 regains control.
        .globl bm_guest_read, bm_guest_write
// Reads *x0 into x0, then HVC #0 (bm_exc.x0 = the value).
bm_guest_read:
        ldr     x0, [x0]
        hvc     #0
        b       .
// Stores x1 to *x0, then HVC #0.
bm_guest_write:
        str     x1, [x0]
        mov     x0, #0
        hvc     #0
        b       .

// Guest EL1 vectors: any EL1 exception reports itself to EL2 with
// HVC #(0x100 + vector index) and x0 = ESR_EL1.
.macro vec_guest idx
        .balign 0x80
        mrs     x0, esr_el1
        hvc     #(0x100 + \idx)
        b       .
.endm
        .balign 2048
        .globl bm_vectors_guest
bm_vectors_guest:
        .irp idx, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        vec_guest \idx
        .endr

// -- The C library functions the compiler may call ---------------------------
// Byte loops in assembly, so the compiler cannot turn them into calls to
// themselves; nothing here needs speed.
        .globl memset, memcpy, memmove, memcmp
memset:
        mov     x3, x0
        cbz     x2, 2f
1:      strb    w1, [x3], #1
        subs    x2, x2, #1
        b.ne    1b
2:      ret
memcpy:
        mov     x3, x0
        cbz     x2, 2f
1:      ldrb    w4, [x1], #1
        strb    w4, [x3], #1
        subs    x2, x2, #1
        b.ne    1b
2:      ret
memmove:
        cmp     x0, x1
        b.ls    memcpy
        add     x4, x1, x2
        cmp     x0, x4
        b.hs    memcpy
        // Overlap with the destination above: copy backwards.
        cbz     x2, 2f
1:      subs    x2, x2, #1
        ldrb    w4, [x1, x2]
        strb    w4, [x0, x2]
        b.ne    1b
2:      ret
memcmp:
        cbz     x2, 2f
1:      ldrb    w3, [x0], #1
        ldrb    w4, [x1], #1
        subs    w3, w3, w4
        b.ne    3f
        subs    x2, x2, #1
        b.ne    1b
2:      mov     w0, #0
        ret
3:      mov     w0, w3
        ret
