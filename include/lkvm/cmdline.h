/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CMDLINE_H
#define LKVM_CMDLINE_H

#include <stdbool.h>

/* Maximum kernel command line we build (COMMAND_LINE_SIZE on arm64). */
#define LKVM_CMDLINE_MAX	2048

/*
 * Does the kernel command line set parameter @key (as "key" or "key=...")?
 * Words inside double quotes are skipped as the kernel does; everything
 * after a "--" belongs to init and does not count.
 */
bool cmdline_has_param(const char *cmdline, const char *key);

#endif
