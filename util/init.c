// SPDX-License-Identifier: GPL-2.0
/*
 * Ordered bring-up and tear-down of subsystems and devices. The list of
 * items is built once per process by constructors (code, not VM state);
 * each VM records in its own struct init_state what it brought up.
 */
#include <errno.h>

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

int init_all(struct init_state *st, struct kvm *kvm)
{
	struct init_item *item;
	int level, ret;

	for (level = 0; level < INIT_NR_LEVELS; level++) {
		for (item = levels[level]; item; item = item->next) {
			if (st->nr_done == INIT_MAX_ITEMS) {
				pr_err("init: more than %d subsystems", INIT_MAX_ITEMS);
				return -ENOSPC;
			}
			pr_debug("init %s", item->name);
			ret = item->init(kvm);
			if (ret < 0)
				return ret;
			st->done[st->nr_done++] = item;
		}
	}
	return 0;
}

/* Exits in the reverse order of the inits that succeeded. */
void exit_all(struct init_state *st, struct kvm *kvm)
{
	const struct init_item *item;

	while (st->nr_done) {
		item = st->done[--st->nr_done];
		if (item->exit) {
			pr_debug("exit %s", item->name);
			item->exit(kvm);
		}
	}
}
