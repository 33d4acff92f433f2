/*
 * memory_account.c: where a snapshot's bytes go. Loads saved records (the
 * directory_snapshot_file a stafetd wrote), builds a snapshot from them and
 * prints the heap in use (mallinfo2) after each step, and the snapshot's
 * parts counted from its structures. A bench tool, not part of the daemon;
 * after `make unit`:
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Idaemon -Idirectory -Ibuild/gen \
 *      -I/usr/include/postgresql -o build/bench/memory_account \
 *      bench/memory_account.c build/unit/libdirectory.a build/unit/libdaemon.a \
 *      -levent -ljansson -lldap -llber -lpq -lcurl -lcrypto -lz -lm -pthread
 *   build/bench/memory_account directory.json   (a directory_snapshot_file)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

static size_t
inuse(void)
{
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
}

static size_t
slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

int
main(int argc, char **argv)
{
	struct dir_records r;
	size_t m0, m1, m2, m3;

	if (argc < 2) {
		fprintf(stderr, "usage: memory_account FILE\n");
		return 2;
	}
	m0 = inuse();
	if (dir_save_load(argv[1], &r) != 0) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	malloc_trim(0);
	m1 = inuse();
	printf("records: %zu people, %zu units, %zu groups: %.1f MB in use (%.0f B a person)\n",
	       r.np, r.nu, r.ng, (m1 - m0) / 1e6, (double)(m1 - m0) / (double)(r.np ? r.np : 1));
	struct dir_snapshot *s = dir_snapshot_build(&r, 1);
	m2 = inuse();
	size_t np = s->npersons;
	printf("snapshot: %.1f MB in use (%.0f B a person)\n", (m2 - m1) / 1e6,
	       (double)(m2 - m1) / (double)np);
	/* parts */
	size_t strs = 0, json = 0, vecs = 0, groups = 0;
	for (size_t i = 0; i < np; i++) {
		const struct dir_person *p = &s->persons[i];
		strs += slen(p->id) + slen(p->dn) + slen(p->username) + slen(p->upn) +
		        slen(p->display_name) + slen(p->given_name) + slen(p->surname) +
		        slen(p->title) + slen(p->email) + slen(p->phone) + slen(p->mobile) +
		        slen(p->office);
		for (size_t k = 0; k < p->ntarget_groups; k++)
			strs += slen(p->target_groups[k]);
		for (size_t k = 0; k < p->nalloc; k++)
			strs +=
			    slen(p->alloc[k].kind) + slen(p->alloc[k].from) + slen(p->alloc[k].to);
		for (size_t k = 0; k < p->ngroups; k++)
			groups += slen(p->groups[k]);
		vecs += (p->ntarget_groups + p->ngroups) * sizeof(char *) +
		        p->nalloc * sizeof(struct dir_alloc);
		json += p->json_len;
	}
	printf("  persons array      %8.1f MB (%zu B each)\n", np * sizeof(struct dir_person) / 1e6,
	       sizeof(struct dir_person));
	printf("  person strings     %8.1f MB (%.0f B a person, unpadded)\n", strs / 1e6,
	       (double)strs / (double)np);
	printf("  group DNs          %8.1f MB\n", groups / 1e6);
	printf("  string vectors     %8.1f MB\n", vecs / 1e6);
	printf("  rendered JSON, own %8.1f MB (%.0f B a person; shared parts not counted)\n",
	       json / 1e6, (double)json / (double)np);
	printf("  lookup tables      %8.1f MB (5 x %zu slots)\n",
	       5.0 * s->table_size * sizeof(int) / 1e6, s->table_size);
	printf("  by_name            %8.1f MB\n", np * sizeof(int) / 1e6);
	m3 = inuse();
	struct dir_index *ix = dir_index_build(s);
	printf("  search index       %8.1f MB (a second one built to count it)\n",
	       (inuse() - m3) / 1e6);
	dir_index_free(ix);
	if (argc > 2) /* "quick": VmHWM of the load and build alone */
		return 0;
	m3 = inuse();
	json_t *doc = dir_records_to_json(&r);
	printf("saved-file JSON document (transient, at every full sync): %.1f MB\n",
	       (inuse() - m3) / 1e6);
	json_decref(doc);
	dir_snapshot_unref(s);
	dir_records_free(&r);
	return 0;
}
