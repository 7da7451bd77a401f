/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config - the option string and fstab parser on arbitrary bytes.
 *
 * The first byte chooses: odd, the rest is fstab text (aufs_config_parse_fstab,
 * every line, the one-pass conflict check); even, the rest is "OPTIONS\nMNT" or
 * "OPTIONS\nMNT\nACTIONS" for aufs_union_parse (and aufs_remount_apply with
 * ACTIONS). What must hold: no crash, no leak, no sanitizer report; a refusal
 * says why in a NUL-terminated message; a union that a configuration accepts
 * is written back by aufs_union_format to a line that parses again to a union
 * that formats the same (the fence a refused line leaves has no line of its own).
 * Branch paths that exist on every host (/, /tmp, /usr, /etc, /var, /usr/lib)
 * are what the seeds use, so that parses succeed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aufs/core.h"
#include "internal.h"

static void check_msg(const struct aufs_err *err)
{
	if (!memchr(err->msg, 0, sizeof(err->msg)))
		abort();	/* a message without its end */
}

/* The union's line, parsed again, formats to the same line. */
static void round_trip(const struct aufs_union *u)
{
	char a[8192], b[8192];
	struct aufs_config cfg;
	struct aufs_err err = {0};
	int n;

	if (u->opts.flags & AUFS_OPT_FENCED)
		return;	/* the fence of a refused line: no line of its own to give back */
	n = aufs_union_format(u, a, sizeof(a));
	if (n < 0)
		return;	/* longer than the buffer: -ENAMETOOLONG, as documented */
	aufs_config_init(&cfg);
	if (aufs_config_parse_fstab(&cfg, a, "round-trip", &err) < 0 || cfg.nunion != 1) {
		fprintf(stderr, "fuzz_config: the formatted line \"%s\" does not parse: %s\n", a,
			err.msg);
		abort();
	}
	if (aufs_union_format(aufs_config_union(&cfg, 0), b, sizeof(b)) != n || strcmp(a, b)) {
		fprintf(stderr, "fuzz_config: \"%s\" formats again as \"%s\"\n", a, b);
		abort();
	}
	aufs_config_release(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aufs_err err = {0};
	char *s;

	if (size == 0 || size > 65536)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	if (data[0] & 1) {
		struct aufs_config cfg;

		aufs_config_init(&cfg);
		if (aufs_config_parse_fstab(&cfg, s, "fuzz", &err) < 0)
			check_msg(&err);
		for (int i = 0; i < cfg.nunion; i++)
			round_trip(aufs_config_union(&cfg, i));
		aufs_config_release(&cfg);
	} else {
		char *mnt = strchr(s, '\n'), *actions = NULL;
		struct aufs_union *u = NULL;
		char *out = NULL;

		if (mnt) {
			*mnt++ = 0;
			actions = strchr(mnt, '\n');
			if (actions)
				*actions++ = 0;
		} else {
			mnt = "/srv/www/fuzz";
		}
		if (aufs_union_parse(s, mnt, &u, &err) < 0) {
			check_msg(&err);
		} else {
			/* what a configuration accepts (a mount point over its own
			 * branches is refused there) must survive its own line */
			struct aufs_config cfg;

			aufs_config_init(&cfg);
			if (aufs_config_add(&cfg, u, &err) < 0)
				check_msg(&err);
			else
				round_trip(aufs_config_union(&cfg, 0));
			aufs_config_release(&cfg);
		}
		if (actions) {
			memset(&err, 0, sizeof(err));
			if (aufs_remount_apply(s, actions, &out, &err) < 0)
				check_msg(&err);
			free(out);
		}
	}
	free(s);
	return 0;
}
