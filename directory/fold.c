/*
 * fold.c: Danish-aware folding of names and queries for search, so that a
 * caseworker finds "Søren" by typing "soren" or "soeren", and "Åse" by
 * "aase". Both the index and the query go through dir_fold(), so the rules
 * only have to be consistent, not linguistically perfect.
 *
 * The rules, in order:
 *   - ASCII letters lowercase, digits kept; any other ASCII is a word
 *     separator, and runs of separators become one space (none leading or
 *     trailing);
 *   - Æ/æ -> "ae", Ø/ø -> "o", Å/å -> "a", Œ/œ -> "oe", ß -> "ss",
 *     Þ/þ -> "th", Ĳ/ĳ -> "ij"; other Latin-1 and Latin Extended-A letters
 *     to their base letter (é -> e, ö -> o, č -> c, ł -> l);
 *   - then "aa" -> "a" and "oe" -> "o", greedily left to right, once (so
 *     "Aase" and "Åse" both give "ase", "Soeren" and "Søren" give "soren");
 *     "ae" stays, so "Kærgaard" gives "kaergard" like "kaergaard" does, and
 *     "kargaard" (-> "kargard") does not match it;
 *   - combining marks (U+0300..U+036F), the soft hyphen and zero-width
 *     characters are dropped, so decomposed "A\u030Ase" also gives "ase";
 *     C1 controls, Latin-1 punctuation (NBSP, «, §, ×, ÷ ...), general
 *     punctuation (U+2000..U+206F: dashes, curly quotes) and U+3000 separate
 *     words;
 *   - Greek and basic Cyrillic capitals lowercase; any other code point
 *     passes through unchanged;
 *   - bytes that are not valid UTF-8 (overlong forms, surrogates, stray
 *     continuation bytes, truncated sequences) are dropped.
 *
 * The output is never longer than the input, so strlen(in) + 1 bytes of out
 * always suffice.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stafetd.h"
#include "directory.h"

struct fold_out {
	char *buf;
	size_t size; /* bytes of buf, including room for the NUL */
	size_t len;
	bool full;    /* something did not fit: stop, never skip ahead */
	bool space;   /* a separator is owed before the next output */
	char pending; /* 'a' or 'o' held back to see whether a pair follows */
};

/* U+0100..U+017F to a base letter; '*' marks the two-letter ones. */
static const char latin_ext_a[] = "aaaaaa"       /* 0100 Ā..ą */
                                  "cccccccc"     /* 0106 Ć..č */
                                  "dddd"         /* 010E Ď..đ */
                                  "eeeeeeeeee"   /* 0112 Ē..ě */
                                  "gggggggg"     /* 011C Ĝ..ģ */
                                  "hhhh"         /* 0124 Ĥ..ħ */
                                  "iiiiiiiiii"   /* 0128 Ĩ..ı */
                                  "**"           /* 0132 Ĳ ĳ */
                                  "jj"           /* 0134 Ĵ ĵ */
                                  "kkk"          /* 0136 Ķ ķ ĸ */
                                  "llllllllll"   /* 0139 Ĺ..ł */
                                  "nnnnnnnnn"    /* 0143 Ń..ŋ */
                                  "oooooo"       /* 014C Ō..ő */
                                  "**"           /* 0152 Œ œ */
                                  "rrrrrr"       /* 0154 Ŕ..ř */
                                  "ssssssss"     /* 015A Ś..š */
                                  "tttttt"       /* 0162 Ţ..ŧ */
                                  "uuuuuuuuuuuu" /* 0168 Ũ..ų */
                                  "ww"           /* 0174 Ŵ ŵ */
                                  "yyy"          /* 0176 Ŷ ŷ Ÿ */
                                  "zzzzzz"       /* 0179 Ź..ž */
                                  "s";           /* 017F ſ */
_Static_assert(sizeof(latin_ext_a) == 0x80 + 1, "Latin Extended-A table covers U+0100..U+017F");

/* U+00C0..U+00FF (upper and lower halves fold alike); '*' two letters, ' ' separator. */
static const char latin1_letters[] = "aaaaaa*ceeeeiiii"  /* C0 À..Ï (C6 Æ) */
                                     "dnooooo ouuuuy**"; /* D0 Ð..ß (D7 ×, DE Þ, DF ß) */
_Static_assert(sizeof(latin1_letters) == 0x20 + 1, "Latin-1 table covers U+00C0..U+00DF");

char
dir_fold_latin1_letter(unsigned int cp)
{
	char c;

	if (cp < 0xc0 || cp > 0xff)
		return 0;
	c = cp == 0xff ? 'y' : latin1_letters[(cp - 0xc0) & 0x1f]; /* ÿ: its upper half is ß */
	return c == '*' || c == ' ' ? 0 : c;
}

/*
 * Writes n bytes as one unit, after the owed space: a unit that does not fit
 * ends the output, so a multi-byte character is never cut.
 */
static void
out_raw(struct fold_out *o, const char *s, size_t n)
{
	bool sp = o->space && o->len > 0;

	if (o->full)
		return;
	if (o->size == 0 || n + sp > o->size - 1 - o->len) {
		o->full = true;
		return;
	}
	if (sp)
		o->buf[o->len++] = ' ';
	o->space = false;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
out_flush(struct fold_out *o)
{
	if (o->pending) {
		char p = o->pending;
		o->pending = 0;
		out_raw(o, &p, 1);
	}
}

/* One ASCII letter or digit, through the "aa" -> "a", "oe" -> "o" rule. */
static void
out_char(struct fold_out *o, char c)
{
	if (o->pending) {
		char p = o->pending;
		o->pending = 0;
		out_raw(o, &p, 1);
		if ((p == 'a' && c == 'a') || (p == 'o' && c == 'e'))
			return;
	}
	if (c == 'a' || c == 'o')
		o->pending = c;
	else
		out_raw(o, &c, 1);
}

static void
out_str(struct fold_out *o, const char *s)
{
	while (*s)
		out_char(o, *s++);
}

static void
out_sep(struct fold_out *o)
{
	out_flush(o);
	o->space = true;
}

static void
out_utf8(struct fold_out *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	out_flush(o);
	out_raw(o, b, n);
}

/*
 * Decodes one strictly valid UTF-8 sequence at s; returns its length, or 0
 * when the byte at s does not start one. Reads no further than the first
 * byte that fails, so a NUL always stops it.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		c = s[0] & 0x1f;
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		c = s[0] & 0x0f;
		n = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		c = s[0] & 0x07;
		n = 4;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return n;
}

static void
fold_special(struct fold_out *o, uint32_t cp)
{
	switch (cp) {
	case 0xc6: /* Æ */
	case 0xe6:
		out_str(o, "ae");
		break;
	case 0xde: /* Þ */
	case 0xfe:
		out_str(o, "th");
		break;
	case 0xdf: /* ß */
		out_str(o, "ss");
		break;
	case 0x132: /* Ĳ */
	case 0x133:
		out_str(o, "ij");
		break;
	case 0x152: /* Œ */
	case 0x153:
		out_str(o, "oe");
		break;
	}
}

static void
fold_cp(struct fold_out *o, uint32_t cp)
{
	char c;

	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			out_char(o, (char)(cp - 'A' + 'a'));
		else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			out_char(o, (char)cp);
		else
			out_sep(o);
		return;
	}
	if (cp == 0xad || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200d) ||
	    cp == 0x2060 || cp == 0xfeff)
		return;                 /* soft hyphen, combining marks, zero-width: invisible */
	if (cp == 0xaa || cp == 0xba) { /* ª º */
		out_char(o, cp == 0xaa ? 'a' : 'o');
		return;
	}
	if (cp == 0xb5) { /* µ is a letter */
		out_utf8(o, cp);
		return;
	}
	if (cp < 0xc0 || (cp >= 0x2000 && cp <= 0x206f) || cp == 0x3000) {
		out_sep(o);
		return;
	}
	if (cp <= 0xff) {
		c = latin1_letters[(cp - 0xc0) & 0x1f];
		if (cp == 0xff)
			c = 'y'; /* ÿ: its upper half is ß */
		if (c == ' ')
			out_sep(o);
		else if (c == '*')
			fold_special(o, cp);
		else
			out_char(o, c);
		return;
	}
	if (cp <= 0x17f) {
		c = latin_ext_a[cp - 0x100];
		if (c == '*')
			fold_special(o, cp);
		else
			out_char(o, c);
		return;
	}
	if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) /* Greek capitals */
		cp += 0x20;
	else if (cp >= 0x410 && cp <= 0x42f) /* Cyrillic А..Я */
		cp += 0x20;
	else if (cp >= 0x400 && cp <= 0x40f) /* Cyrillic Ѐ..Џ */
		cp += 0x50;
	out_utf8(o, cp);
}

/*
 * Folds the UTF-8 string in into out (outsz bytes, NUL-terminated when
 * outsz > 0) and returns the length written. Output that does not fit is cut
 * at a character boundary. in may be NULL (folds as "").
 */
size_t
dir_fold(const char *in, char *out, size_t outsz)
{
	struct fold_out o = {out, outsz, 0, false, false, 0};
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	uint32_t cp;
	size_t n;

	while (*s != '\0' && !o.full) {
		n = utf8_decode(s, &cp);
		if (n == 0) {
			s++; /* not UTF-8: drop the byte */
			continue;
		}
		s += n;
		fold_cp(&o, cp);
	}
	out_flush(&o);
	if (outsz > 0)
		out[o.len] = '\0';
	return o.len;
}

/*
 * Splits a folded string on spaces into at most max words: tokens[i] points
 * into folded (the words are not NUL-terminated), lens[i] is the length.
 * Words past max are ignored. Returns the number of words.
 */
size_t
dir_fold_tokens(const char *folded, const char **tokens, size_t *lens, size_t max)
{
	const char *s = folded, *start;
	size_t n = 0;

	if (s == NULL)
		return 0;
	while (n < max) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		start = s;
		while (*s != ' ' && *s != '\0')
			s++;
		tokens[n] = start;
		if (lens != NULL)
			lens[n] = (size_t)(s - start);
		n++;
	}
	return n;
}
