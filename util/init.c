// SPDX-License-Identifier: GPL-2.0
/* Ordered bring-up and tear-down of subsystems and devices. */
#include "lkvm/init.h"
#include "lkvm/util.h"

static struct init_item *levels[INIT_NR_LEVELS];

/* Constructors run in link order; keep that order within each level. */
void init_register(struct init_item *item)
{
	struct init_item **p = &levels[item->level];

	while (*p)
		p = &(*p)->next;
	item->next = NULL;
	*p = item;
}

int init_all(struct kvm *kvm)
{
	struct init_item *item;
	int level, ret;

	for (level = 0; level < INIT_NR_LEVELS; level++) {
		for (item = levels[level]; item; item = item->next) {
			pr_debug("init %s", item->name);
			ret = item->init(kvm);
			if (ret < 0)
				return ret;
			item->done = 1;
		}
	}
	return 0;
}

static void exit_level(struct kvm *kvm, struct init_item *item)
{
	/* Reverse order within a level: recurse to the end of the list. */
	if (!item)
		return;
	exit_level(kvm, item->next);
	if (item->done && item->exit) {
		pr_debug("exit %s", item->name);
		item->exit(kvm);
	}
	item->done = 0;
}

void exit_all(struct kvm *kvm)
{
	int level;

	for (level = INIT_NR_LEVELS - 1; level >= 0; level--)
		exit_level(kvm, levels[level]);
}
