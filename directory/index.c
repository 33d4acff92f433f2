/*
 * index.c: the search index over a snapshot, and people search with keyset
 * pagination.
 *
 * Every indexed word (folded by dir_fold) is stored once, in one arena, in
 * byte order; a query word that is a prefix of indexed words is therefore a
 * binary search to a range of token ids [lo, hi). Each token has a posting
 * list of (person, field class) (4 bytes each, best class first, then name
 * order), and each person has its own sorted list of (token id, field class)
 * (4 bytes each), so a candidate found via the rarest query word is checked
 * against the other words by integer range tests on a dozen entries, with no
 * string work, and a search stops reading a posting list as soon as nothing
 * further in it can make the page. About 8 bytes per (person, distinct word)
 * plus 16 bytes per person: ~110 bytes a person for a typical directory.
 *
 * Ranking key, best first: score (sum over query words of the best match:
 * exact word 4 + field class, or prefix 0 + field class, where class is
 * name 3, username 2, title/email 1, unit 0), then the person's rank in the
 * snapshot's by_name order, then the person index. A cursor is that key of
 * the last item returned, so the next page is "strictly after the key"; on
 * a newer snapshot the same key still orders, so paging goes on (best
 * effort: people who moved in the ranking may be seen twice or not at all).
 *
 * The index is immutable once built; searches only read it and may run on
 * several threads at once.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stafetd.h"
#include "directory.h"

#define MAX_WORDS    8
#define MAX_WORD_LEN 64
#define CLASS_BITS   4
#define CLASS_MASK   ((1u << CLASS_BITS) - 1)
#define MAX_IDS      (UINT32_MAX >> CLASS_BITS) /* token ids and persons */
#define EXACT_BONUS  4

enum field_class {
	CLASS_UNIT = 0,
	CLASS_CONTACT = 1, /* title, email */
	CLASS_USERNAME = 2,
	CLASS_NAME = 3,
};

struct dir_index {
	uint32_t ntok;
	uint32_t *tok_off;  /* ntok: offset of each token's text, in byte order */
	uint32_t *tok_post; /* ntok + 1: start of each token's postings */
	uint32_t *post;     /* person << CLASS_BITS | class, by class desc, rank */
	char *text;         /* the tokens, NUL-terminated */
	uint32_t npersons;
	uint32_t *plist_start; /* npersons + 1 */
	uint32_t *plist;       /* token id << CLASS_BITS | best class, by token id */
	uint32_t *order;       /* persons in by_name order */
	uint32_t *rank;        /* inverse of order */
	uint32_t nunits;
	uint32_t *unit_start;   /* nunits + 1 */
	uint32_t *unit_members; /* persons of each unit, in order */
};

/* Build state: tokens interned by a hash table before they are sorted. */
struct builder {
	char *text;
	size_t textlen, textcap;
	uint32_t *off; /* provisional token id -> text offset */
	uint32_t ntok, tokcap;
	uint32_t *hash; /* provisional id + 1, 0 empty */
	size_t hcap;
	uint32_t *list; /* entries: provisional id << CLASS_BITS | class */
	size_t nlist, listcap;
	char *scratch;
	size_t scratchcap;
	bool overflow;
};

struct sort_tok {
	const char *s;
	uint32_t id;
};

struct key {
	uint32_t score, rank, idx;
};

struct collector {
	struct key *heap; /* max-heap on result order: the root is the worst kept */
	size_t n, cap;
	bool have_cursor;
	struct key cursor;
};

struct qword {
	const char *s;
	size_t len;
	uint32_t lo, hi; /* token id range with this prefix */
	uint32_t exact;  /* token id equal to the word, or UINT32_MAX */
};

struct filter {
	int unit;
	const unsigned char *unit_ok; /* department filter as a unit set, or NULL */
	const char *target_group;
};

static uint32_t
hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
builder_grow_hash(struct builder *b)
{
	size_t cap = b->hcap ? b->hcap * 2 : 1024;
	uint32_t *h = xcalloc(cap, sizeof(*h));

	for (uint32_t id = 0; id < b->ntok; id++) {
		const char *s = b->text + b->off[id];
		size_t i = hash_bytes(s, strlen(s)) & (cap - 1);
		while (h[i] != 0)
			i = (i + 1) & (cap - 1);
		h[i] = id + 1;
	}
	free(b->hash);
	b->hash = h;
	b->hcap = cap;
}

/* The provisional id of a word, adding it when new. */
static uint32_t
builder_intern(struct builder *b, const char *s, size_t n)
{
	size_t i;

	if ((b->ntok + 1) * 2 > b->hcap)
		builder_grow_hash(b);
	i = hash_bytes(s, n) & (b->hcap - 1);
	while (b->hash[i] != 0) {
		const char *t = b->text + b->off[b->hash[i] - 1];
		if (strncmp(t, s, n) == 0 && t[n] == '\0')
			return b->hash[i] - 1;
		i = (i + 1) & (b->hcap - 1);
	}
	if (b->ntok >= MAX_IDS || b->textlen + n + 1 > UINT32_MAX) {
		b->overflow = true;
		return 0;
	}
	if (b->textlen + n + 1 > b->textcap) {
		b->textcap = (b->textlen + n + 1) * 2;
		b->text = xrealloc(b->text, b->textcap);
	}
	if (b->ntok == b->tokcap) {
		b->tokcap = b->tokcap ? b->tokcap * 2 : 1024;
		b->off = xrealloc(b->off, b->tokcap * sizeof(*b->off));
	}
	memcpy(b->text + b->textlen, s, n);
	b->text[b->textlen + n] = '\0';
	b->off[b->ntok] = (uint32_t)b->textlen;
	b->textlen += n + 1;
	b->hash[i] = b->ntok + 1;
	return b->ntok++;
}

static void
builder_push(struct builder *b, uint32_t entry)
{
	if (b->nlist == b->listcap) {
		b->listcap = b->listcap ? b->listcap * 2 : 4096;
		b->list = xrealloc(b->list, b->listcap * sizeof(*b->list));
	}
	b->list[b->nlist++] = entry;
}

/* Folds a field and appends each of its words with the field's class. */
static void
builder_add_field(struct builder *b, const char *field, enum field_class cls)
{
	size_t n, i, start;

	if (field == NULL || *field == '\0')
		return;
	n = strlen(field) + 1; /* the folded form is never longer */
	if (n > b->scratchcap) {
		b->scratchcap = n < 256 ? 256 : n;
		b->scratch = xrealloc(b->scratch, b->scratchcap);
	}
	n = dir_fold(field, b->scratch, b->scratchcap);
	for (i = 0; i < n;) {
		while (i < n && b->scratch[i] == ' ')
			i++;
		start = i;
		while (i < n && b->scratch[i] != ' ')
			i++;
		if (i > start) {
			uint32_t id = builder_intern(b, b->scratch + start, i - start);
			builder_push(b, id << CLASS_BITS | cls);
		}
	}
}

static int
sort_tok_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sort_tok *)a)->s, ((const struct sort_tok *)b)->s);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void
sort_u32(uint32_t *v, size_t n)
{
	if (n > 24) {
		qsort(v, n, sizeof(*v), u32_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* The by_name order, validated: persons it misses follow in index order. */
static void
index_build_order(struct dir_index *ix, const struct dir_snapshot *snap)
{
	uint32_t n = ix->npersons, k = 0;

	ix->order = xmalloc((size_t)n * sizeof(*ix->order));
	ix->rank = xmalloc((size_t)n * sizeof(*ix->rank));
	for (uint32_t p = 0; p < n; p++)
		ix->rank[p] = UINT32_MAX;
	for (size_t r = 0; snap->by_name != NULL && r < n; r++) {
		int p = snap->by_name[r];
		if (p < 0 || (uint32_t)p >= n || ix->rank[p] != UINT32_MAX)
			continue;
		ix->rank[p] = k;
		ix->order[k++] = (uint32_t)p;
	}
	for (uint32_t p = 0; p < n; p++) {
		if (ix->rank[p] == UINT32_MAX) {
			ix->rank[p] = k;
			ix->order[k++] = p;
		}
	}
}

static void
index_build_units(struct dir_index *ix, const struct dir_snapshot *snap)
{
	uint32_t *fill;

	ix->unit_start = xcalloc((size_t)ix->nunits + 1, sizeof(*ix->unit_start));
	for (uint32_t p = 0; p < ix->npersons; p++) {
		int u = snap->persons[p].unit;
		if (u >= 0 && (uint32_t)u < ix->nunits)
			ix->unit_start[u + 1]++;
	}
	for (uint32_t u = 0; u < ix->nunits; u++)
		ix->unit_start[u + 1] += ix->unit_start[u];
	ix->unit_members = xmalloc((size_t)ix->unit_start[ix->nunits] * sizeof(uint32_t));
	fill = xmalloc(((size_t)ix->nunits + 1) * sizeof(*fill));
	memcpy(fill, ix->unit_start, ((size_t)ix->nunits + 1) * sizeof(*fill));
	for (uint32_t r = 0; r < ix->npersons; r++) {
		uint32_t p = ix->order[r];
		int u = snap->persons[p].unit;
		if (u >= 0 && (uint32_t)u < ix->nunits)
			ix->unit_members[fill[u]++] = p;
	}
	free(fill);
}

/*
 * Sorts the tokens into byte order, renumbers the person lists by it, keeps
 * each person's best class per token and builds the posting lists.
 */
static void
index_build_tokens(struct dir_index *ix, struct builder *b, uint32_t *pstart)
{
	struct sort_tok *st = xmalloc((size_t)b->ntok * sizeof(*st));
	uint32_t *remap = xmalloc((size_t)b->ntok * sizeof(*remap));
	uint32_t *fill;
	size_t pos = 0, w = 0;

	for (uint32_t id = 0; id < b->ntok; id++) {
		st[id].s = b->text + b->off[id];
		st[id].id = id;
	}
	qsort(st, b->ntok, sizeof(*st), sort_tok_cmp);
	ix->ntok = b->ntok;
	ix->tok_off = xmalloc((size_t)b->ntok * sizeof(*ix->tok_off));
	ix->text = xmalloc(b->textlen ? b->textlen : 1);
	for (uint32_t t = 0; t < b->ntok; t++) {
		size_t n = strlen(st[t].s) + 1;
		remap[st[t].id] = t;
		ix->tok_off[t] = (uint32_t)pos;
		memcpy(ix->text + pos, st[t].s, n);
		pos += n;
	}
	free(st);

	ix->tok_post = xcalloc((size_t)b->ntok + 1, sizeof(*ix->tok_post));
	for (uint32_t p = 0; p < ix->npersons; p++) {
		size_t s = pstart[p], e = pstart[p + 1];
		for (size_t i = s; i < e; i++)
			b->list[i] = remap[b->list[i] >> CLASS_BITS] << CLASS_BITS |
			             (b->list[i] & CLASS_MASK);
		sort_u32(b->list + s, e - s);
		/* in place: equal tokens are adjacent, the best class last */
		pstart[p] = (uint32_t)w;
		for (size_t i = s; i < e; i++) {
			if (i + 1 < e &&
			    (b->list[i + 1] >> CLASS_BITS) == (b->list[i] >> CLASS_BITS))
				continue;
			b->list[w++] = b->list[i];
			ix->tok_post[(b->list[i] >> CLASS_BITS) + 1]++;
		}
	}
	pstart[ix->npersons] = (uint32_t)w;
	free(remap);

	for (uint32_t t = 0; t < ix->ntok; t++)
		ix->tok_post[t + 1] += ix->tok_post[t];
	/* within a token: best class first, then by_name rank, so a search can stop early */
	ix->post = xmalloc(w * sizeof(*ix->post));
	fill = xmalloc(((size_t)ix->ntok + 1) * sizeof(*fill));
	memcpy(fill, ix->tok_post, ((size_t)ix->ntok + 1) * sizeof(*fill));
	for (uint32_t cls = CLASS_MASK + 1; cls-- > 0;) {
		for (uint32_t r = 0; r < ix->npersons; r++) {
			uint32_t p = ix->order[r];
			for (uint32_t i = pstart[p]; i < pstart[p + 1]; i++)
				if ((b->list[i] & CLASS_MASK) == cls)
					ix->post[fill[b->list[i] >> CLASS_BITS]++] =
					    p << CLASS_BITS | cls;
		}
	}
	free(fill);

	ix->plist = xrealloc(b->list, w * sizeof(*ix->plist));
	b->list = NULL;
	ix->plist_start = pstart;
}

/*
 * Builds the index over snap's persons, units and by_name (which it reads
 * but does not keep). The caller owns the result (dir_index_free) and
 * usually stores it in snap->index. Returns NULL only for a snapshot too
 * large to index (more than 2^28 persons or distinct words).
 */
struct dir_index *
dir_index_build(const struct dir_snapshot *snap)
{
	struct builder b = {0};
	struct dir_index *ix;
	size_t *ustart;
	uint32_t *pstart;

	if (snap == NULL || snap->npersons > MAX_IDS || snap->nunits > MAX_IDS ||
	    (snap->npersons > 0 && snap->persons == NULL) ||
	    (snap->nunits > 0 && snap->units == NULL))
		return NULL;
	ix = xcalloc(1, sizeof(*ix));
	ix->npersons = (uint32_t)snap->npersons;
	ix->nunits = (uint32_t)snap->nunits;

	/* a unit's words are folded once, then copied to each member */
	ustart = xmalloc((snap->nunits + 1) * sizeof(*ustart));
	for (size_t u = 0; u < snap->nunits; u++) {
		ustart[u] = b.nlist;
		builder_add_field(&b, snap->units[u].name, CLASS_UNIT);
		builder_add_field(&b, snap->units[u].code, CLASS_UNIT);
	}
	ustart[snap->nunits] = b.nlist;
	size_t unit_entries = b.nlist;

	pstart = xmalloc((snap->npersons + 1) * sizeof(*pstart));
	for (size_t i = 0; i < snap->npersons; i++) {
		const struct dir_person *p = &snap->persons[i];
		pstart[i] = (uint32_t)(b.nlist - unit_entries);
		builder_add_field(&b, p->display_name, CLASS_NAME);
		builder_add_field(&b, p->given_name, CLASS_NAME);
		builder_add_field(&b, p->surname, CLASS_NAME);
		builder_add_field(&b, p->username, CLASS_USERNAME);
		builder_add_field(&b, p->title, CLASS_CONTACT);
		builder_add_field(&b, p->email, CLASS_CONTACT);
		if (p->unit >= 0 && (size_t)p->unit < snap->nunits)
			for (size_t k = ustart[p->unit]; k < ustart[p->unit + 1]; k++)
				builder_push(&b, b.list[k]);
	}
	if (b.nlist - unit_entries > MAX_IDS)
		b.overflow = true; /* and the offsets above wrapped */
	pstart[snap->npersons] = (uint32_t)(b.nlist - unit_entries);
	free(ustart);
	free(b.scratch);
	free(b.hash);
	b.hash = NULL;
	if (b.overflow) {
		free(pstart);
		free(b.text);
		free(b.off);
		free(b.list);
		free(ix);
		return NULL;
	}
	/* drop the unit entries kept at the front */
	if (unit_entries > 0) {
		memmove(b.list, b.list + unit_entries, (b.nlist - unit_entries) * sizeof(*b.list));
		b.nlist -= unit_entries;
	}

	index_build_order(ix, snap);
	index_build_tokens(ix, &b, pstart);
	free(b.text);
	free(b.off);
	index_build_units(ix, snap);
	return ix;
}

/* Frees an index; NULL is a no-op. */
void
dir_index_free(struct dir_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->tok_off);
	free(ix->tok_post);
	free(ix->post);
	free(ix->text);
	free(ix->plist_start);
	free(ix->plist);
	free(ix->order);
	free(ix->rank);
	free(ix->unit_start);
	free(ix->unit_members);
	free(ix);
}

/* Result order: higher score first, then lower rank, then lower index. */
static int
key_cmp(const struct key *a, const struct key *b)
{
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return 0;
}

static int
key_qsort_cmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

static void
heap_sift_down(struct key *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && key_cmp(&h[l], &h[m]) > 0)
			m = l;
		if (r < n && key_cmp(&h[r], &h[m]) > 0)
			m = r;
		if (m == i)
			return;
		struct key t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Keeps the cap best keys that come strictly after the cursor. */
static void
collect(struct collector *c, uint32_t score, uint32_t rank, uint32_t idx)
{
	struct key k = {score, rank, idx};
	size_t i;

	if (c->have_cursor && key_cmp(&k, &c->cursor) <= 0)
		return;
	if (c->n < c->cap) {
		i = c->n++;
		while (i > 0 && key_cmp(&k, &c->heap[(i - 1) / 2]) > 0) {
			c->heap[i] = c->heap[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		c->heap[i] = k;
	} else if (key_cmp(&k, &c->heap[0]) < 0) {
		c->heap[0] = k;
		heap_sift_down(c->heap, c->n, 0);
	}
}

/* Strict lowercase hex of 1..maxdigits digits up to the next '.' or NUL. */
static bool
parse_hex(const char **sp, size_t maxdigits, uint64_t *v)
{
	const char *s = *sp;
	size_t n = 0;

	*v = 0;
	for (; *s != '.' && *s != '\0'; s++, n++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return false;
		if (n == maxdigits)
			return false;
		*v = *v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return false;
	*sp = s;
	return true;
}

/*
 * A cursor is "1.<generation>.<score>.<rank>.<index>" in lowercase hex:
 * the snapshot generation it came from and the key of the last item shown.
 */
static bool
cursor_parse(const char *s, struct key *k, uint64_t *generation)
{
	uint64_t v[4];

	if (strncmp(s, "1.", 2) != 0)
		return false;
	s += 2;
	for (int i = 0; i < 4; i++) {
		if (!parse_hex(&s, i == 0 ? 16 : 8, &v[i]))
			return false;
		if (*s != (i == 3 ? '\0' : '.'))
			return false;
		if (i < 3)
			s++;
	}
	*generation = v[0];
	k->score = (uint32_t)v[1];
	k->rank = (uint32_t)v[2];
	k->idx = (uint32_t)v[3];
	return true;
}

static char *
cursor_format(uint64_t generation, const struct key *k)
{
	char *s;
	xasprintf(&s, "1.%" PRIx64 ".%" PRIx32 ".%" PRIx32 ".%" PRIx32, generation, k->score,
	          k->rank, k->idx);
	return s;
}

static bool
filter_pass(const struct dir_snapshot *snap, const struct filter *f, uint32_t idx)
{
	const struct dir_person *p = &snap->persons[idx];

	if (f->unit != DIR_NONE && p->unit != f->unit)
		return false;
	if (f->unit_ok != NULL &&
	    (p->unit < 0 || (size_t)p->unit >= snap->nunits || !f->unit_ok[p->unit]))
		return false;
	if (f->target_group != NULL) {
		size_t i;
		for (i = 0; i < p->ntarget_groups; i++)
			if (p->target_groups[i] != NULL &&
			    strcasecmp(p->target_groups[i], f->target_group) == 0)
				break;
		if (i == p->ntarget_groups)
			return false;
	}
	return true;
}

/*
 * The score of a person for all query words, or -1 when one does not match
 * or, for the driving word drv, when tok is not the person's best token in
 * its range (the lowest id among equals): a person reached through several
 * tokens counts once, at the posting that carries their best score.
 */
static int
person_score(const struct dir_index *ix, uint32_t p, const struct qword *w, size_t nw, size_t drv,
             uint32_t tok)
{
	const uint32_t *l = ix->plist + ix->plist_start[p];
	size_t n = ix->plist_start[p + 1] - ix->plist_start[p];
	int total = 0;

	for (size_t k = 0; k < nw; k++) {
		size_t i = (k == 0) ? drv : (k <= drv ? k - 1 : k);
		int best = -1;
		uint32_t best_tok = 0;
		for (size_t j = 0; j < n; j++) {
			uint32_t t = l[j] >> CLASS_BITS;
			if (t < w[i].lo)
				continue;
			if (t >= w[i].hi)
				break;
			int s = (int)(l[j] & CLASS_MASK) + (t == w[i].exact ? EXACT_BONUS : 0);
			if (s > best) {
				best = s;
				best_tok = t;
			}
		}
		if (best < 0 || (i == drv && tok != UINT32_MAX && best_tok != tok))
			return -1;
		total += best;
	}
	return total;
}

/* The range of token ids that start with the word; lo == hi when none. */
static void
word_range(const struct dir_index *ix, struct qword *w)
{
	uint32_t a = 0, b = ix->ntok;

	while (a < b) { /* first token >= word */
		uint32_t m = a + (b - a) / 2;
		if (strncmp(ix->text + ix->tok_off[m], w->s, w->len) < 0)
			a = m + 1;
		else
			b = m;
	}
	w->lo = a;
	b = ix->ntok;
	while (a < b) { /* first token past the words with this prefix */
		uint32_t m = a + (b - a) / 2;
		if (strncmp(ix->text + ix->tok_off[m], w->s, w->len) <= 0)
			a = m + 1;
		else
			b = m;
	}
	w->hi = a;
	w->exact = UINT32_MAX;
	if (w->lo < w->hi && ix->text[ix->tok_off[w->lo] + w->len] == '\0')
		w->exact = w->lo;
}

/* Words of q into w (the folded text in *buf, the caller frees); -1: nothing can match. */
static int
query_words(const char *q, char **buf, struct qword *w)
{
	const char *tok[MAX_WORDS];
	size_t len[MAX_WORDS], n;

	*buf = NULL;
	if (q == NULL || *q == '\0')
		return 0;
	*buf = xmalloc(strlen(q) + 1);
	dir_fold(q, *buf, strlen(q) + 1);
	n = dir_fold_tokens(*buf, tok, len, MAX_WORDS);
	for (size_t i = 0; i < n; i++) {
		if (len[i] > MAX_WORD_LEN)
			return -1;
		w[i].s = tok[i];
		w[i].len = len[i];
	}
	return (int)n;
}

static void
search_words(const struct dir_index *ix, const struct dir_snapshot *snap, const struct filter *f,
             struct qword *w, size_t nw, struct collector *c)
{
	size_t drv = 0, best = SIZE_MAX, n;
	uint32_t others = 0;

	for (size_t i = 0; i < nw; i++) {
		word_range(ix, &w[i]);
		n = ix->tok_post[w[i].hi] - ix->tok_post[w[i].lo];
		if (n < best) {
			best = n;
			drv = i;
		}
	}
	if (best == 0)
		return;
	for (size_t i = 0; i < nw; i++) /* the most the other words can add */
		if (i != drv)
			others += CLASS_NAME + (w[i].exact != UINT32_MAX ? EXACT_BONUS : 0);
	if (f->unit != DIR_NONE) {
		uint32_t s = ix->unit_start[f->unit], e = ix->unit_start[f->unit + 1];
		if (e - s < best) {
			for (uint32_t i = s; i < e; i++) {
				uint32_t p = ix->unit_members[i];
				int score = person_score(ix, p, w, nw, drv, UINT32_MAX);
				if (score >= 0 && filter_pass(snap, f, p))
					collect(c, (uint32_t)score, ix->rank[p], p);
			}
			return;
		}
	}
	for (uint32_t t = w[drv].lo; t < w[drv].hi; t++) {
		uint32_t bonus = others + (t == w[drv].exact ? EXACT_BONUS : 0);
		for (uint32_t i = ix->tok_post[t]; i < ix->tok_post[t + 1]; i++) {
			uint32_t p = ix->post[i] >> CLASS_BITS;
			/*
			 * Once the page is full, stop at the first posting that
			 * cannot beat its worst entry: the rest of this token's
			 * postings have a lower class or a later rank.
			 */
			if (c->n == c->cap) {
				uint32_t ub = (ix->post[i] & CLASS_MASK) + bonus;
				if (ub < c->heap[0].score ||
				    (ub == c->heap[0].score && ix->rank[p] > c->heap[0].rank))
					break;
			}
			int score = person_score(ix, p, w, nw, drv, t);
			if (score >= 0 && filter_pass(snap, f, p))
				collect(c, (uint32_t)score, ix->rank[p], p);
		}
	}
}

/* No words: everyone passing the filters, in by_name order (score 0). */
static void
search_all(const struct dir_index *ix, const struct dir_snapshot *snap, const struct filter *f,
           struct collector *c)
{
	const uint32_t *list = ix->order;
	uint32_t n = ix->npersons, start = 0;

	if (f->unit != DIR_NONE) {
		list = ix->unit_members + ix->unit_start[f->unit];
		n = ix->unit_start[f->unit + 1] - ix->unit_start[f->unit];
	}
	if (c->have_cursor && c->cursor.score == 0) {
		/* both lists are in rank order: skip what the cursor passed */
		uint32_t a = 0, b = n;
		while (a < b) {
			uint32_t m = a + (b - a) / 2;
			if (ix->rank[list[m]] < c->cursor.rank)
				a = m + 1;
			else
				b = m;
		}
		start = a;
	}
	for (uint32_t i = start; i < n && c->n < c->cap; i++)
		if (filter_pass(snap, f, list[i]))
			collect(c, 0, ix->rank[list[i]], list[i]);
}

/*
 * Searches snap for q (see the file comment and API.md "Directory"): fills
 * out[] with up to q->limit person indexes, best first, and sets *next (when
 * next is not NULL) to a malloc'd cursor for the following page, or NULL
 * after the last one. Returns the count, or -1 for a cursor that does not
 * parse; an empty q->cursor counts as none. A query that cannot match
 * (unknown unit, a word over 64 bytes) gives 0, never an error.
 */
int
dir_index_search(const struct dir_snapshot *snap, const struct dir_query *q, int *out, char **next)
{
	struct dir_index *tmp = NULL;
	const struct dir_index *ix;
	struct collector c = {0};
	struct filter f = {DIR_NONE, NULL, NULL};
	struct qword w[MAX_WORDS];
	unsigned char *unit_ok = NULL;
	uint64_t generation = 0;
	char *buf = NULL;
	size_t m = 0;
	int nw;

	if (next != NULL)
		*next = NULL;
	if (q == NULL)
		return 0;
	if (q->cursor != NULL && *q->cursor != '\0') {
		if (!cursor_parse(q->cursor, &c.cursor, &generation))
			return -1;
		c.have_cursor = true;
	}
	if (snap == NULL || q->limit == 0 || snap->npersons == 0)
		return 0;
	ix = snap->index;
	if (ix == NULL || ix->npersons != snap->npersons || ix->nunits != snap->nunits)
		ix = tmp = dir_index_build(snap); /* not built (or stale): slow but right */
	if (ix == NULL)
		return 0;

	f.target_group = q->target_group;
	if (q->unit != DIR_NONE) {
		if (q->unit < 0 || (size_t)q->unit >= snap->nunits)
			goto done;
		f.unit = q->unit;
	}
	if (q->department != NULL) {
		bool any = false;
		unit_ok = xcalloc(snap->nunits, 1);
		for (size_t u = 0; u < snap->nunits; u++) {
			const char *d = snap->units[u].department;
			if (d != NULL && strcasecmp(d, q->department) == 0)
				unit_ok[u] = any = true;
		}
		if (!any)
			goto done;
		f.unit_ok = unit_ok;
	}

	c.cap = (q->limit < snap->npersons ? q->limit : snap->npersons) + 1;
	c.heap = xmalloc(c.cap * sizeof(*c.heap));
	nw = query_words(q->q, &buf, w);
	if (nw < 0)
		goto done;
	if (nw == 0)
		search_all(ix, snap, &f, &c);
	else
		search_words(ix, snap, &f, w, (size_t)nw, &c);

	qsort(c.heap, c.n, sizeof(*c.heap), key_qsort_cmp);
	m = c.n < q->limit ? c.n : q->limit;
	for (size_t i = 0; i < m; i++)
		out[i] = (int)c.heap[i].idx;
	if (c.n > m && next != NULL)
		*next = cursor_format(snap->generation, &c.heap[m - 1]);
done:
	free(buf);
	free(c.heap);
	free(unit_ok);
	dir_index_free(tmp);
	return (int)m;
}
