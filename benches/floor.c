/* The floor of the spawn benchmark: a static program whose _start only calls exit(0), so its
 * cost is the kernel's fork/exec/exit/wait and nothing else. */
void _start(void) {
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
