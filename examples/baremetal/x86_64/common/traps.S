/* traps.S - exception entry stubs and fault probes of the bare-metal kernels.
 *
 * Vectors 0-31 enter trap_common with the same frame (vector, error code,
 * then what the CPU pushed: SDM Vol. 3A §6.14.1 "64-Bit Mode Stack Frame");
 * vectors without an error code push a zero (§6.15 Table 6-1 says which
 * have one). trap_common saves the caller-saved registers and calls
 * bm_trap(frame*) (the kernel is built -mgeneral-regs-only, so no vector
 * register needs saving); bm_trap may change the frame's rip and rsp.
 *
 * The probes make one access that may fault. Before it they record where
 * to resume (rip, rsp) and arm bm_probe_active; a #PF while armed
 * resumes there with bm_probe_faulted = 1 (see bm_trap).
 */

    .text

.macro TRAP_NOERR n
    .globl trap_\n
trap_\n:
    pushq $0
    pushq $\n
    jmp trap_common
.endm
.macro TRAP_ERR n
    .globl trap_\n
trap_\n:
    pushq $\n
    jmp trap_common
.endm

/* Table 6-1: vectors 8, 10-14, 17, 21, 29, 30 push an error code. */
TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR   8
TRAP_NOERR 9
TRAP_ERR   10
TRAP_ERR   11
TRAP_ERR   12
TRAP_ERR   13
TRAP_ERR   14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR   17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR   21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR   29
TRAP_ERR   30
TRAP_NOERR 31

/* 16 + 40 bytes pushed so far on a 16-byte aligned stack (the CPU aligns
 * RSP before pushing, §6.14.2); 9 saved registers make 128: aligned. */
trap_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov %rsp, %rdi
    cld
    call bm_trap
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp                      /* vector and error code */
    iretq

    .section .rodata
    .align 8
    .globl bm_trap_stubs
bm_trap_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_\n
    .endr

    .text
/* Arms the probe: resume at label 1 with the caller's rsp. Clobbers rax. */
.macro ARM_PROBE
    lea 1f(%rip), %rax
    mov %rax, bm_probe_rip(%rip)
    mov %rsp, bm_probe_rsp(%rip)
    movl $0, bm_probe_faulted(%rip)
    movl $1, bm_probe_active(%rip)
.endm
.macro DISARM_PROBE
1:  movl $0, bm_probe_active(%rip)
    mov bm_probe_faulted(%rip), %eax
    ret
.endm

/* int bm_probe_read(uint64_t va, uint64_t* out): 1 when the load faulted. */
    .globl bm_probe_read
bm_probe_read:
    ARM_PROBE
    mov (%rdi), %rax
    mov %rax, (%rsi)
    DISARM_PROBE

/* int bm_probe_write(uint64_t va, uint64_t value): 1 when the store faulted. */
    .globl bm_probe_write
bm_probe_write:
    ARM_PROBE
    mov %rsi, (%rdi)
    DISARM_PROBE

/* int bm_probe_exec(uint64_t va): calls va (a page holding RET); 1 when the
 * fetch faulted (the resume restores rsp, dropping the return address). */
    .globl bm_probe_exec
bm_probe_exec:
    ARM_PROBE
    call *%rdi
    DISARM_PROBE

    .section .bss
    .align 8
    .globl bm_probe_rip, bm_probe_rsp, bm_probe_active, bm_probe_faulted
bm_probe_rip: .skip 8
bm_probe_rsp: .skip 8
bm_probe_active: .skip 4
bm_probe_faulted: .skip 4

    .section .note.GNU-stack, "", @progbits
