// SPDX-License-Identifier: GPL-2.0
/*
 * Libraries loaded on demand. libslirp (-n mode=user) brings glib and
 * pcre2 with it, about 0.9 MiB of lkvm's resident memory when linked
 * normally, whether a guest uses user-mode networking or not; loaded with
 * dlopen() only when it does, it costs nothing otherwise. RTLD_NOW:
 * every symbol is bound at load, in the main thread before the seccomp
 * filters, so nothing of the loader runs later in a filtered thread.
 */
#include <dlfcn.h>
#include <string.h>

#include "lkvm/dl.h"
#include "lkvm/util.h"

/* The first of @syms that @handle lacks, or NULL. */
static const char *dl_missing(void *handle, const struct dl_sym *syms,
			      size_t nr_syms)
{
	size_t i;

	for (i = 0; i < nr_syms; i++)
		if (!dlsym(handle, syms[i].name))
			return syms[i].name;
	return NULL;
}

void *dl_load(const char *lib, const struct dl_sym *syms, size_t nr_syms,
	      void *table, char *err, size_t errlen)
{
	const char *missing;
	void *handle, *fn;
	size_t i;

	handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		set_err(err, errlen, "%s", dlerror());
		return NULL;
	}
	missing = dl_missing(handle, syms, nr_syms);
	if (missing) {
		set_err(err, errlen, "%s: no symbol %s", lib, missing);
		dlclose(handle);
		return NULL;
	}
	/* POSIX: a function's address in a void * converts back to it */
	for (i = 0; i < nr_syms; i++) {
		fn = dlsym(handle, syms[i].name);
		memcpy((char *)table + syms[i].offset, &fn, sizeof(fn));
	}
	return handle;
}

void dl_close(void *handle)
{
	if (handle)
		dlclose(handle);
}
