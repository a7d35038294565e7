/* boot.S - multiboot v1 entry of the genpt bare-metal x86-64 kernels.
 *
 * QEMU's -kernel loads a multiboot v1 image (an ELF32 file: the build
 * turns the ELF64 link into elf32-i386 with objcopy) and enters
 * boot_entry32 in 32-bit protected mode, paging off (Multiboot 0.6.96
 * §3.2 "Machine state"). This code zeroes .bss, builds a boot table that
 * identity-maps the first 1 GiB with 2 MiB pages, enables PAE (and LA57
 * when GENPT_BM_LA57 is defined and CPUID reports it: CR4.LA57 can only be
 * set while paging is off, SDM Vol. 3A §4.1.1), long mode, NXE and WP,
 * and calls bm_main() in 64-bit mode. The kernel then replaces this table
 * with genpt's.
 */

#define MB_MAGIC 0x1BADB002            /* Multiboot 0.6.96 §3.1.1 header magic */
#define MB_FLAGS 0x00000000            /* no module alignment, no memory info, ELF layout */

#define CR0_PE   (1 << 0)              /* SDM Vol. 3A §2.5: protection enable */
#define CR0_MP   (1 << 1)              /* §2.5: monitor coprocessor */
#define CR0_EM   (1 << 2)              /* §2.5: x87 emulation (must be 0) */
#define CR0_WP   (1 << 16)             /* §2.5: supervisor writes honour R/W */
#define CR0_PG   (1 << 31)             /* §2.5: paging */
#define CR4_PAE  (1 << 5)              /* §2.5: physical address extension */
#define CR4_LA57 (1 << 12)             /* §2.5: 57-bit linear addresses (5-level) */
#define MSR_EFER 0xC0000080            /* SDM Vol. 4 Table 2-2: IA32_EFER */
#define EFER_LME (1 << 8)              /* §2.2.1: IA-32e mode enable */
#define EFER_NXE (1 << 11)             /* §2.2.1: execute-disable bit enable */
#define PTE_P    0x1                   /* §4.5 Table 4-15..4-18: present */
#define PTE_RW   0x2                   /* R/W */
#define PTE_PS   0x80                  /* Table 4-17: PDE maps a 2 MiB page */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)       /* §3.1.2: the three words sum to 0 */

    .section .boot.text, "ax"
    .code32
    .globl boot_entry32
boot_entry32:
    cli
    cld
    mov %eax, %esi                     /* multiboot magic, passed on to bm_main */
    /* Zero .bss (the loader fills it too; the boot tables must start zero). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $boot_stack_top, %esp
    mov %esi, boot_mb_magic

    /* CPUID 80000001h EDX bit 29: long mode (SDM Vol. 2A CPUID). */
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode
    mov %edx, %ebp                     /* bit 20: NX (execute disable) supported */

    /* PD: 512 identity 2 MiB pages covering [0, 1 GiB). */
    mov $boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_RW | PTE_PS), %eax
    mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    inc %ecx
    cmp $512, %ecx
    jne 1b
    mov $boot_pd, %eax
    or $(PTE_P | PTE_RW), %eax
    mov %eax, boot_pdpt
    mov $boot_pdpt, %eax
    or $(PTE_P | PTE_RW), %eax
    mov %eax, boot_pml4
    mov $boot_pml4, %ebx               /* CR3 for 4-level paging */
    mov $CR4_PAE, %edx

#ifdef GENPT_BM_LA57
    /* CPUID.(EAX=7,ECX=0):ECX bit 16 = LA57 (SDM Vol. 2A CPUID). Without
     * it the kernel boots 4-level and reports the missing feature. */
    mov $7, %eax
    xor %ecx, %ecx
    push %edx
    push %ebx                          /* cpuid writes ebx: keep the 4-level CR3 */
    cpuid
    mov %ecx, %eax
    pop %ebx
    pop %edx
    bt $16, %eax
    jnc 2f
    mov $boot_pml4, %eax
    or $(PTE_P | PTE_RW), %eax
    mov %eax, boot_pml5
    mov $boot_pml5, %ebx               /* CR3 for 5-level paging */
    or $CR4_LA57, %edx
    movl $1, boot_la57
2:
#endif

    mov %edx, %cr4
    mov %ebx, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    bt $20, %ebp                       /* NXE only where NX exists (else wrmsr #GP) */
    jnc 4f
    or $EFER_NXE, %eax
4:  wrmsr
    mov %cr0, %eax
    and $~CR0_EM, %eax
    or $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $long_entry

no_long_mode:
    /* Nothing to report with: stop. The test sees no output and fails. */
    hlt
    jmp no_long_mode

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp
    call bm_main
3:  hlt
    jmp 3b

    .section .rodata
    .align 16
    /* GDT (SDM Vol. 3A §3.4.5, §5.2.1): null, 64-bit code (L=1), data. */
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .align 4096
boot_pml5: .skip 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096
    .align 16
boot_stack: .skip 65536
boot_stack_top:
    .globl boot_la57
boot_la57: .skip 4                     /* 1 when the boot path enabled LA57 */
    .globl boot_mb_magic
boot_mb_magic: .skip 4                 /* EAX at entry: 0x2BADB002 from a multiboot loader */

    .section .note.GNU-stack, "", @progbits
