/* SPDX-License-Identifier: MIT */
/*
 * fuzz_image - the host table's image reader (src/core/state_table.c) on
 * arbitrary bytes.
 *
 * The first byte is a mode, the rest the image. Mode bit 0: stamp the header
 * (magic, version, sizes, header checksum) so that the layout checks and the
 * readers behind them are reached; bit 1: stamp the body checksum too, as a
 * writer who means harm would. The image is checked (aufs_table_verify, quick
 * and full); when it passes, mount points are looked up in it the way every
 * process does (aufs_config_match: the index, the ancestors, each slot's and
 * record's own check, the union made from its record), with paths taken from the
 * image's own strings and a few fixed ones, and host paths are mapped back to a
 * union (aufs_table_real_to_union). What must hold: no crash, no sanitizer
 * report, a found union's mount point is a prefix of the path asked.
 *
 * This file includes state_table.c to reach its static checksum, with sys_mmap
 * renamed so that the unions made from records (never freed in the library,
 * whose tables live as long as the process) are unmapped after each input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "aufs/sys.h"

static struct mapping {
	void *p;
	size_t len;
} maps[4096];
static size_t nmaps;

static void *fuzz_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = sys_mmap(addr, len, prot, flags, fd, off);

	if (!sys_mmap_failed(p) && (flags & MAP_ANONYMOUS)) {
		if (nmaps == sizeof(maps) / sizeof(maps[0]))
			abort();
		maps[nmaps].p = p;
		maps[nmaps++].len = len;
	}
	return p;
}

#define sys_mmap fuzz_mmap
#include "../../src/core/state_table.c"
#undef sys_mmap

static void release_arena(void)
{
	while (nmaps)
		(void)sys_munmap(maps[nmaps - 1].p, maps[nmaps - 1].len), nmaps--;
	atomic_store(&arena, NULL);
}

static void lookup(struct aufs_config *cfg, const char *p, size_t len)
{
	size_t rel = 0, brlen = 0;
	struct aufs_union *u;

	if (len == 0 || len >= PATH_MAX || p[0] != '/' || memchr(p, 0, len))
		return;
	u = aufs_config_match(cfg, p, len, &rel);
	if (u && (u->mnt_len > len || memcmp(u->mnt, p, u->mnt_len) ||
		  (len > u->mnt_len && p[u->mnt_len] != '/' && u->mnt_len > 1))) {
		fprintf(stderr, "fuzz_image: %.*s matched the union at %s\n", (int)len, p, u->mnt);
		abort();
	}
	(void)aufs_table_real_to_union(cfg, p, len, &brlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {"/", "/srv", "/srv/www", "/srv/www/t1",
					    "/srv/www/t1/index.php", "/tmp", "/usr/share"};
	struct aufs_config cfg;
	struct tbl_hdr *h;
	const char *why;
	size_t n;
	void *img;
	int mode;

	if (size < 1 || size > (1u << 20))
		return 0;
	mode = data[0];
	n = size - 1;
	img = calloc(1, n + 8);	/* malloc's alignment; +8: a stamp of a short image */
	if (!img)
		return 0;
	memcpy(img, data + 1, n);
	h = img;
	if ((mode & 1) && n >= TBL_HDR) {
		memcpy(h->magic, TBL_MAGIC, sizeof(h->magic));
		h->version = TBL_VERSION;
		h->hdr_size = TBL_HDR;
		h->size = n;
		if (mode & 2)
			h->body_sum = tbl_sum((const char *)img + TBL_HDR, n - TBL_HDR);
		h->hdr_sum = hdr_sum(h);
	}
	(void)aufs_table_verify(img, n, true, &why);
	if (aufs_table_verify(img, n, false, &why) == 0 && h->nunion <= 4096) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.unions = calloc((size_t)h->nunion + 1, sizeof(cfg.unions[0]));
		if (cfg.unions) {
			const char *s = (const char *)img + h->off_str;
			size_t done = 0;

			cfg.nunion = (int)h->nunion;
			cfg.table = img;
			cfg.table_size = n;
			cfg.table_kind = AUFS_TABLE_MAPPED;
			cfg.superseded = &h->superseded;
			cfg.serial = aufs_config_next_serial();	/* no hint of an earlier input */
			for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
				lookup(&cfg, fixed[i], strlen(fixed[i]));
			/* the image's own strings, and a name below each */
			for (size_t off = 0; off < h->len_str && done < 32; done++) {
				const char *z = memchr(s + off, 0, h->len_str - off);
				size_t len = z ? (size_t)(z - (s + off)) : h->len_str - off;
				char buf[PATH_MAX];

				lookup(&cfg, s + off, len);
				if (len > 0 && len + 3 < sizeof(buf)) {
					memcpy(buf, s + off, len);
					memcpy(buf + len, "/x", 3);
					lookup(&cfg, buf, len + 2);
				}
				off += len + 1;
			}
			for (int i = 0; i < cfg.nunion && i < 16; i++)
				(void)aufs_config_union(&cfg, i);
			free(cfg.unions);
		}
	}
	release_arena();
	free(img);
	return 0;
}
