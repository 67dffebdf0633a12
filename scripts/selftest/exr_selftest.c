// SPDX-License-Identifier: GPL-2.0
/*
 * The negative control of the QEMU harness (scripts/qemu-selftest.sh): a
 * module that loads cleanly or, as mode= asks, dumps its stack, warns,
 * oopses or panics in its init.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/string.h>

static char *mode = "hello";
module_param(mode, charp, 0444);

static int __init exr_selftest_init(void)
{
	pr_info("exr_selftest: hello, mode=%s\n", mode);
	if (!strcmp(mode, "stack"))
		dump_stack();
	else if (!strcmp(mode, "warning"))
		WARN_ON(1);
	else if (!strcmp(mode, "oops"))
		WRITE_ONCE(*(int *)NULL, 1);
	else if (!strcmp(mode, "panic"))
		panic("exr_selftest: panic on request");
	return 0;
}

static void __exit exr_selftest_exit(void)
{
	pr_info("exr_selftest: bye\n");
}

module_init(exr_selftest_init);
module_exit(exr_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ex_rundown QEMU harness self-test");
