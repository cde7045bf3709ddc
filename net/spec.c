// SPDX-License-Identifier: GPL-2.0
/*
 * The `-n`/`--network` spec: checked at option parsing so that a typo
 * fails before anything starts (exit 2), parsed again by the device.
 *
 *   mode=user (default): guest_ip=, host_ip=, hostfwd= (repeatable)
 *   mode=tap: tapif=NAME, script=PATH, vhost=on|off, queues=N
 *   mode=none
 *   any mode: guest_mac=
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/net.h"

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int parse_port(const char *s, size_t len, u16 *port)
{
	char buf[8], *end;
	unsigned long v;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* "[ADDR]:PORT" of @len bytes; an empty ADDR leaves *addr alone. */
static int parse_addr_port(const char *s, size_t len, struct in_addr *addr,
			   u16 *port)
{
	const char *colon = memchr(s, ':', len);
	char buf[INET_ADDRSTRLEN];
	size_t alen;

	if (!colon)
		return -1;
	alen = colon - s;
	if (alen) {
		if (alen >= sizeof(buf))
			return -1;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		if (inet_pton(AF_INET, buf, addr) != 1)
			return -1;
	}
	return parse_port(colon + 1, len - alen - 1, port);
}

int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd)
{
	const char *dash;

	memset(fwd, 0, sizeof(*fwd));
	if (!strncmp(s, "tcp:", 4)) {
		s += 4;
	} else if (!strncmp(s, "udp:", 4)) {
		fwd->udp = true;
		s += 4;
	} else if (*s == ':') {
		s++;		/* protocol omitted: tcp */
	} else {
		return -1;
	}
	dash = strchr(s, '-');
	if (!dash || strchr(dash + 1, '-'))
		return -1;
	if (parse_addr_port(s, dash - s, &fwd->host_addr, &fwd->host_port) < 0)
		return -1;
	s = dash + 1;
	return parse_addr_port(s, strlen(s), &fwd->guest_addr,
			       &fwd->guest_port);
}

int net_parse_mac(const char *s, u8 mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		/* sscanf takes " f" and "+f": insist on hex digits */
		if (!strchr("0123456789abcdefABCDEF", s[3 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[3 * i + 1]) || !s[3 * i + 1])
			return -1;
		mac[i] = b[i];
	}
	/* a multicast (or broadcast) address is no NIC's */
	if (mac[0] & 1)
		return -1;
	return 0;
}

void net_default_mac(const char *name, unsigned int index, u8 mac[6])
{
	u32 h = 2166136261u;	/* FNV-1a */
	const char *p;

	for (p = name ? name : ""; *p; p++)
		h = (h ^ (u8)*p) * 16777619u;
	h = (h ^ (index & 0xff)) * 16777619u;
	h = (h ^ ((index >> 8) & 0xff)) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static int parse_mode(const char *v, enum net_mode *mode)
{
	if (!strcmp(v, "user"))
		*mode = NET_MODE_USER;
	else if (!strcmp(v, "tap"))
		*mode = NET_MODE_TAP;
	else if (!strcmp(v, "none"))
		*mode = NET_MODE_NONE;
	else
		return -1;
	return 0;
}

/* One key=value; @seen_* record options that only fit one mode. */
static int parse_kv(struct net_spec *ns, char *kv, unsigned int *user_opts,
		    unsigned int *tap_opts, char *err, size_t errlen)
{
	char *v = strchr(kv, '=');
	unsigned long n;
	char *end;

	if (!v) {
		if (!parse_mode(kv, &ns->mode))
			return 0;
		BAD("invalid -n option '%s': expected key=value", kv);
	}
	*v++ = '\0';
	if (!strcmp(kv, "mode")) {
		if (parse_mode(v, &ns->mode) < 0)
			BAD("invalid -n mode '%s': must be user, tap or none", v);
	} else if (!strcmp(kv, "guest_mac") || !strcmp(kv, "mac")) {
		if (net_parse_mac(v, ns->mac) < 0)
			BAD("invalid -n guest_mac '%s': expected a unicast xx:xx:xx:xx:xx:xx", v);
		ns->mac_set = true;
	} else if (!strcmp(kv, "guest_ip")) {
		if (inet_pton(AF_INET, v, &ns->guest_ip) != 1)
			BAD("invalid -n guest_ip '%s': expected an IPv4 address", v);
		(*user_opts)++;
	} else if (!strcmp(kv, "host_ip")) {
		if (inet_pton(AF_INET, v, &ns->host_ip) != 1)
			BAD("invalid -n host_ip '%s': expected an IPv4 address", v);
		(*user_opts)++;
	} else if (!strcmp(kv, "hostfwd")) {
		if (ns->nr_fwd == NET_MAX_HOSTFWD)
			BAD("too many -n hostfwd= (at most %d)", NET_MAX_HOSTFWD);
		if (net_parse_hostfwd(v, &ns->fwd[ns->nr_fwd]) < 0)
			BAD("invalid -n hostfwd '%s': expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", v);
		ns->nr_fwd++;
		(*user_opts)++;
	} else if (!strcmp(kv, "tapif")) {
		if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/') ||
		    strchr(v, ' '))
			BAD("invalid -n tapif '%s': expected an interface name of at most %d characters",
			    v, IFNAMSIZ - 1);
		strcpy(ns->tapif, v);
		(*tap_opts)++;
	} else if (!strcmp(kv, "script")) {
		if (!*v || strlen(v) >= NET_SCRIPT_MAX)
			BAD("invalid -n script '%s'", v);
		strcpy(ns->script, v);
		(*tap_opts)++;
	} else if (!strcmp(kv, "vhost")) {
		if (!parse_bool(v, &ns->vhost))
			BAD("invalid -n vhost '%s': must be on or off", v);
		(*tap_opts)++;
	} else if (!strcmp(kv, "queues")) {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno || end == v || *end || *v == '-' || n < 1 ||
		    n > NET_MAX_QUEUE_PAIRS)
			BAD("invalid -n queues '%s': must be 1 to %d", v,
			    NET_MAX_QUEUE_PAIRS);
		ns->queues = n;
		if (n > 1)
			(*tap_opts)++;
	} else {
		BAD("unknown -n option '%s'", kv);
	}
	return 0;
}

int net_parse_spec(const char *spec, struct net_spec *ns, char *err,
		   size_t errlen)
{
	unsigned int user_opts = 0, tap_opts = 0;
	char *copy, *tok, *save = NULL;
	u32 g, h;
	int ret = 0;

	memset(ns, 0, sizeof(*ns));
	ns->mode = NET_MODE_USER;
	ns->queues = 1;
	inet_pton(AF_INET, "10.0.2.15", &ns->guest_ip);
	inet_pton(AF_INET, "10.0.2.2", &ns->host_ip);

	copy = strdup(spec);
	if (!copy)
		BAD("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		ret = parse_kv(ns, tok, &user_opts, &tap_opts, err, errlen);
		if (ret < 0)
			break;
	}
	free(copy);
	if (ret < 0)
		return ret;

	switch (ns->mode) {
	case NET_MODE_USER:
		if (tap_opts)
			BAD("-n: tapif=, script=, vhost= and queues= need mode=tap");
		g = ntohl(ns->guest_ip.s_addr);
		h = ntohl(ns->host_ip.s_addr);
		/* one /24 with the host at .2-ish and the DNS at .3 */
		if ((g & 0xffffff00) != (h & 0xffffff00) || g == h ||
		    (g & 0xff) == 0 || (g & 0xff) == 255 ||
		    (h & 0xff) == 0 || (h & 0xff) == 255 ||
		    (g & 0xff) == 3 || (h & 0xff) == 3)
			BAD("-n: guest_ip and host_ip must be different addresses in one /24 (not .0, .3 or .255)");
		break;
	case NET_MODE_TAP:
		if (user_opts)
			BAD("-n: guest_ip=, host_ip= and hostfwd= need mode=user");
		if (!ns->tapif[0])
			BAD("-n mode=tap needs tapif=NAME");
		break;
	case NET_MODE_NONE:
		if (user_opts || tap_opts)
			BAD("-n mode=none takes no other options than guest_mac=");
		break;
	}
	return 0;
}
