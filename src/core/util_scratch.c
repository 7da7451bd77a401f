/* SPDX-License-Identifier: MIT */
/*
 * util_scratch.c - per-thread scratch blocks for a verb's large temporaries.
 *
 * A rename holds two struct aufs_loc (16 KiB), a copy-up three paths (12 KiB):
 * too much for the stack of the program's thread the shims run on. Taken from the
 * heap and given back at every call, such a block lands at the top of the heap,
 * which glibc then trims and grows again: a brk pair every hundred renames. Each
 * thread keeps two blocks instead, as large as it asked for; a third at once (a
 * signal handler's verb inside a rename's copy-up) is taken from the heap and
 * given back. The kept ones go when the thread ends.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define SCRATCH_SLOTS 2
#define SCRATCH_MAX   (64u << 10)	/* larger: the heap's, every time */

struct scratch_slot {
	void *p;
	size_t size;
	bool busy;
};

static __thread struct scratch_slot scratch[SCRATCH_SLOTS];
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void *unused)
{
	(void)unused;
	for (int i = 0; i < SCRATCH_SLOTS; i++) {
		free(scratch[i].p);
		scratch[i] = (struct scratch_slot){ 0 };
	}
}

static void scratch_key_init(void)
{
	(void)pthread_key_create(&scratch_key, scratch_release);
}

void *scratch_get(size_t n)
{
	for (int i = 0; i < SCRATCH_SLOTS && n <= SCRATCH_MAX; i++) {
		struct scratch_slot *s = &scratch[i];

		if (s->busy)
			continue;
		/* taken before it is filled: a signal handler's call finds it busy */
		s->busy = true;
		atomic_signal_fence(memory_order_seq_cst);
		if (s->size < n) {
			size_t size = (n + 4095) & ~(size_t)4095;
			void *p = malloc(size);

			if (!p) {
				s->busy = false;
				return NULL;
			}
			free(s->p);
			s->p = p;
			s->size = size;
			(void)pthread_once(&scratch_once, scratch_key_init);
			(void)pthread_setspecific(scratch_key, scratch);	/* for its destructor */
		}
		return s->p;
	}
	return malloc(n);
}

void scratch_put(void *p)
{
	for (int i = 0; i < SCRATCH_SLOTS; i++) {
		if (p && scratch[i].p == p && scratch[i].busy) {
			atomic_signal_fence(memory_order_seq_cst);
			scratch[i].busy = false;
			return;
		}
	}
	free(p);
}
