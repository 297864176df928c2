// SPDX-License-Identifier: GPL-2.0
/*
 * Makes the guest kernel print one kind of splat, to record what the e2e judges' kernel-splat pattern must catch
 * (the other files here). Never part of a test run. Built out of tree against the guest kernel's headers (a Makefile
 * of one line, obj-m := splat.o) and loaded with what=warn|refcount|list|hung|oops; for "hung" the guest first sets
 * /proc/sys/kernel/hung_task_timeout_secs to 3, and the kernel log after each load is one recorded file ("list"
 * becomes a BUG: Debian's kernels stop on list corruption).
 */
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/sched.h>

static char *what = "warn";
module_param(what, charp, 0);

static int hang(void *unused)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule_timeout(12 * HZ);
	return 0;
}

static int __init splat_init(void)
{
	static struct list_head head, other, entry;

	if (!strcmp(what, "warn")) {
		WARN(1, "splat: a warning");
	} else if (!strcmp(what, "refcount")) {
		refcount_t r = REFCOUNT_INIT(1);

		if (refcount_dec_and_test(&r))
			refcount_inc(&r);
	} else if (!strcmp(what, "list")) {
		INIT_LIST_HEAD(&head);
		INIT_LIST_HEAD(&other);
		head.next = &other;
		list_add(&entry, &head);
	} else if (!strcmp(what, "hung")) {
		kthread_run(hang, NULL, "splat-hang");
		return 0;
	} else if (!strcmp(what, "oops")) {
		volatile int *nowhere = NULL;

		*nowhere = 1;
	}
	return -EAGAIN;
}

static void __exit splat_exit(void)
{
}

module_init(splat_init);
module_exit(splat_exit);
MODULE_LICENSE("GPL");
