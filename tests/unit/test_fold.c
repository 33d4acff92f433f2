/*
 * test_fold.c: search folding (Danish letters, accents, separators,
 * truncation, invalid UTF-8) and tokenizing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "directory.h"

static void
check_fold(const char *in, const char *want)
{
	char out[256];
	size_t n = dir_fold(in, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("fold(\"%s\") = \"%s\", want \"%s\"", in, out, want);
	assert_int_equal(n, strlen(want));
}

static void
test_ascii(void **state)
{
	(void)state;
	check_fold("", "");
	check_fold("Mette", "mette");
	check_fold("HANSEN", "hansen");
	check_fold("mha@stafet.example", "mha stafet example");
	check_fold("BUR-H", "bur h");
	check_fold("  --Mette--  Hansen!! ", "mette hansen");
	check_fold("O'Brien", "o brien");
	check_fold("Team 42", "team 42");
	check_fold("*)(uid=*", "uid");
	check_fold("\\*()", "");
	check_fold("a\tb\nc", "a b c");
	assert_int_equal(dir_fold(NULL, NULL, 0), 0);
}

/* Each row: spellings that must fold to the same string. */
static void
test_danish(void **state)
{
	(void)state;
	static const char *const rows[][5] = {
	    {"soren", "Søren", "Soeren", "SØREN", "soren"},
	    {"ase", "Åse", "Aase", "åse", "aase"},
	    {"aero", "Ærø", "aero", "ÆRØ", "Aerø"},
	    {"bogh", "Bøgh", "bogh", "boegh", "BOEGH"},
	    /* "ae" stays "ae": kaergaard finds Kærgaard, kargaard does not */
	    {"kaergard", "Kærgaard", "kaergaard", "Kærgård", "KAERGAARD"},
	    {"ostergard", "Østergaard", "Oestergaard", "østergård", "Östergaard"},
	    {"jorgensen", "Jørgensen", "Joergensen", "Jörgensen", "jorgensen"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (size_t j = 1; j < 5; j++)
			check_fold(rows[i][j], rows[i][0]);
	check_fold("kargaard", "kargard");
	check_fold("Ungerådgivningen", "ungeradgivningen");
	check_fold("Børn og Unge", "born og unge");
	check_fold("Ørbækvej 100", "orbaekvej 100");
	/* the pair rule is greedy and applies once */
	check_fold("aaa", "aa");
	check_fold("aaaa", "aa");
	check_fold("aoe", "ao");
	check_fold("Åa", "a");
	check_fold("Aå", "a");
	/* pairs do not join across words */
	check_fold("a a", "a a");
	check_fold("o-e", "o e");
}

static void
test_accents(void **state)
{
	(void)state;
	check_fold("José", "jose");
	check_fold("Müller", "muller");
	check_fold("Ñuñez", "nunez");
	check_fold("Čapek", "capek");
	check_fold("Straße", "strasse");
	check_fold("Łukasz Wałęsa", "lukasz walesa");
	check_fold("Françoise", "francoise");
	check_fold("Þórður", "thordur");
	check_fold("Œuvre", "ouvre"); /* "oe" then "o" */
	check_fold("Ĳssel", "ijssel");
	check_fold("Ÿvonne ÿ", "yvonne y");
	check_fold("Đorđe", "dorde");
	check_fold("İstanbul ı", "istanbul i");
	check_fold("2×3÷4", "2 3 4");
	/* decomposed Å (A + combining ring) and é */
	check_fold("A\xcc\x8a"
	           "se",
	           "ase");
	check_fold("e\xcc\x81t\xc3\xa9", "ete");
	/* NBSP, en dash, curly apostrophe, soft hyphen, zero width space */
	check_fold("Mette\xc2\xa0Hansen", "mette hansen");
	check_fold("Hansen\xe2\x80\x93Jensen", "hansen jensen");
	check_fold("D\xe2\x80\x99"
	           "Angelo",
	           "d angelo");
	check_fold("Kær\xc2\xad"
	           "gaard",
	           "kaergard");
	check_fold("Han\xe2\x80\x8bsen", "hansen");
	/* other scripts: lowercased where simple, otherwise unchanged */
	check_fold("ΑΘΗΝΑ", "αθηνα");
	check_fold("ЖУК Ёж", "жук ёж");
	check_fold("日本", "日本");
	check_fold("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	check_fold("µ", "µ");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	check_fold("S\xf8ren", "sren"); /* Latin-1 ø */
	check_fold("\xff\xfe s\xc3\xb8ren", "soren");
	check_fold("Han\xc3", "han"); /* truncated */
	check_fold("\xc0\xafx", "x"); /* overlong '/' */
	check_fold("a\xed\xa0\x80"
	           "b",
	           "ab");                     /* surrogate */
	check_fold("\xf4\x90\x80\x80z", "z"); /* > U+10FFFF */
	check_fold("\x80\x80\x80", "");
	check_fold("\xe2\x82", "");
}

static void
test_truncation(void **state)
{
	(void)state;
	char buf[16];

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(dir_fold("Søren", buf, 0), 0);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(dir_fold("Søren", buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(dir_fold("Søren", buf, 2), 1);
	assert_string_equal(buf, "s");
	assert_int_equal(buf[2], 'X');
	assert_int_equal(dir_fold("Søren", buf, 3), 2);
	assert_string_equal(buf, "so");
	assert_int_equal(dir_fold("Søren Bøgh", buf, 7), 5);
	assert_string_equal(buf, "soren"); /* no trailing space */
	assert_int_equal(dir_fold("Æ", buf, 2), 1);
	assert_string_equal(buf, "a");

	/* a multi-byte character is never cut */
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(dir_fold("日本", buf, 3), 0);
	assert_string_equal(buf, "");
	assert_int_equal(dir_fold("日本", buf, 4), 3);
	assert_string_equal(buf, "日");
	assert_int_equal(dir_fold("日本", buf, 6), 3);
	assert_string_equal(buf, "日");
	assert_int_equal(buf[6], 'X');
	assert_int_equal(dir_fold("Ω", buf, 2), 0);

	/* strlen(in) + 1 is always enough */
	static const char *const inputs[] = {
	    "Ærø", "ß", "Þ", "Ĳ", "a-b", "Œ", "ΑΒ", "-a-", "\xc3\x86\xc3\x86"};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char full[64], exact[64];
		size_t n = dir_fold(inputs[i], full, sizeof(full));
		assert_true(n <= strlen(inputs[i]));
		assert_int_equal(dir_fold(inputs[i], exact, strlen(inputs[i]) + 1), n);
		assert_string_equal(exact, full);
	}
}

static void
test_long_input(void **state)
{
	(void)state;
	size_t n = 10 * 1024;
	char *in = malloc(n + 1), *out = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		in[i] = "Æ*)(\\ø\xff"[i % 8];
	in[n] = '\0';
	size_t len = dir_fold(in, out, n + 1);
	assert_int_equal(len, strlen(out));
	assert_true(len <= n);
	len = dir_fold(in, out, 100);
	assert_int_equal(len, strlen(out));
	assert_true(len < 100);
	free(in);
	free(out);
}

static void
test_tokenize(void **state)
{
	(void)state;
	const char *tok[4];
	size_t len[4];

	assert_int_equal(dir_fold_tokens("", tok, len, 4), 0);
	assert_int_equal(dir_fold_tokens("   ", tok, len, 4), 0);
	assert_int_equal(dir_fold_tokens(NULL, tok, len, 4), 0);
	assert_int_equal(dir_fold_tokens("mette hansen", tok, len, 4), 2);
	assert_int_equal(len[0], 5);
	assert_memory_equal(tok[0], "mette", 5);
	assert_int_equal(len[1], 6);
	assert_memory_equal(tok[1], "hansen", 6);
	assert_int_equal(dir_fold_tokens("  a  bc d e f g ", tok, len, 4), 4);
	assert_memory_equal(tok[1], "bc", 2);
	assert_int_equal(len[1], 2);
	assert_memory_equal(tok[3], "e", 1);
	assert_int_equal(dir_fold_tokens("a b", tok, len, 0), 0);
	assert_int_equal(dir_fold_tokens("a b", tok, NULL, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii),      cmocka_unit_test(test_danish),
	    cmocka_unit_test(test_accents),    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_truncation), cmocka_unit_test(test_long_input),
	    cmocka_unit_test(test_tokenize),
	};
	log_init(LOG_LVL_ERR, LOG_TS_NO);
	return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
