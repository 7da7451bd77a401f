/* SPDX-License-Identifier: MIT */
/*
 * state_table.h - the image format, for state_table.c (building, reading) and
 * state_host.c (a host table's image file: finding, writing, checking it).
 */
#ifndef AUFS_STATE_TABLE_H
#define AUFS_STATE_TABLE_H

#include "internal.h"

#define TBL_MAGIC   "AUFSTBL"		/* with its NUL: 8 bytes */
#define TBL_VERSION 2
#define TBL_HDR     256
#define TBL_NONE    UINT32_MAX		/* a branch directory of several unions */
#define TBL_ANCESTOR 1u			/* slot flag: in an ancestors' index */
#define TBL_LEAVES   2u			/* slot flag (ancestors): a child of it is in the big index */
#define TBL_NESTED   1u			/* header flag: a mount point inside another union */

/* Little-endian, as the machines that map it; documented in aufs-preload(7). */
struct tbl_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;		/* TBL_HDR */
	uint64_t size;			/* the whole image */
	uint64_t hdr_sum;		/* of the header, with hdr_sum and superseded as 0 */
	uint64_t body_sum;		/* of [hdr_size, size) */
	_Atomic uint32_t superseded;	/* set once a newer image replaced this one */
	uint32_t nunion;
	uint32_t nbranch;		/* branch records in all */
	uint32_t mask;			/* mount points: mask + 1 slots */
	uint32_t brmask;		/* branch directories: brmask + 1 slots */
	uint32_t pmask;			/* ancestors of mount points: pmask + 1 slots */
	uint32_t pbmask;		/* ancestors of branch directories */
	uint32_t flags;			/* TBL_NESTED */
	uint32_t reserved0;
	/*
	 * off_union: a table of the heap offset of each union's record; the heap
	 * (off_str) holds the strings every union shares first (the ancestors, a base
	 * named by every line), then each union's record, name, branch records and
	 * own strings side by side: one lookup touches few pages of a large image.
	 */
	uint64_t off_union, off_index, off_brindex, off_pindex, off_pbindex, off_str, len_str;
	/* the fstab compiled: its identity when compiled, and a hash of its text */
	uint64_t src_dev, src_ino, src_size;
	int64_t src_mtime, src_mtime_ns, src_ctime, src_ctime_ns;
	uint64_t src_hash;
	uint64_t serial;		/* this compilation's number, for the process caches */
	uint32_t src_uid;
	uint32_t fstab, fstab_len;	/* the fstab's path, in the strings */
	uint32_t reserved;
};
_Static_assert(sizeof(struct tbl_hdr) <= TBL_HDR, "header fits");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "images are little-endian");


/* The whole-image checksum (four lanes of hash_mix). */
uint64_t tbl_sum(const void *p, size_t n);
/*
 * Map IMAGE read-only when it is trusted: a regular file of root or OWNER that no
 * one else may write, whose header and layout hold. 0 with *RET and *RET_SIZE, or
 * -errno with *WHY (static text).
 */
int table_map_image(const char *image, uid_t owner, const struct tbl_hdr **ret,
		    size_t *ret_size, const char **why);
/* The same; PATH gets where the image mapped is (IMAGE or a fallback). */
int table_map_image_at(const char *image, uid_t owner, const struct tbl_hdr **ret,
		       size_t *ret_size, const char **why, char *path, size_t path_size);
/*
 * The fallbacks of IMAGE: IMAGE.HEX (16 lowercase hexadecimal digits) in its
 * directory, where the writer puts the image when another user holds the name
 * IMAGE itself (aufsctl(8), TRUST). FN(PATH, CTX) for each, until it returns
 * nonzero (returned); 0 when done, -errno when the directory cannot be read.
 */
int table_each_fallback(const char *image, int (*fn)(const char *path, void *ctx), void *ctx);
/*
 * Before UNIONS are compiled into an image that replaces OLD: each branch that
 * OLD's union at the same mount point lists too keeps the device and inode OLD
 * recorded. A branch is the directory it was first mounted with (util_root.c):
 * recompiling a line, its own or another's, never makes a directory found at its
 * path since the branch; a line that stops listing it and then lists it again does.
 */
void table_keep_identities(const struct tbl_hdr *old, struct aufs_union *_Atomic const *unions,
			   int n);
/* A configuration over a mapped image; from the arena, so that reload needs no malloc. */
struct aufs_config *table_config_of_image(const struct tbl_hdr *h, size_t size,
					  const char *image, const char *fstab, uid_t owner);

#endif /* AUFS_STATE_TABLE_H */
