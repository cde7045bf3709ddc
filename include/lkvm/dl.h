/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DL_H
#define LKVM_DL_H

#include <stddef.h>

/*
 * A library lkvm loads only when an option needs it (util/dl.c), into a
 * caller's struct of typed function pointers: each entry of the symbol
 * table names a function and the offset of its pointer in that struct.
 */
struct dl_sym {
	const char *name;
	size_t offset;		/* offsetof(the struct, its pointer) */
};

#define DL_SYM(type, field, sym)	{ sym, offsetof(type, field) }

/*
 * dlopen() @lib and fill @table from @syms (all of them, or none): the
 * handle (for dl_close()), or NULL with the reason in @err (the library
 * or the symbol missing, as the dynamic loader says it).
 */
void *dl_load(const char *lib, const struct dl_sym *syms, size_t nr_syms,
	      void *table, char *err, size_t errlen);
void dl_close(void *handle);

#endif
