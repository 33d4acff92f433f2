/*
 * test_mail.c: the text of an alert (mail.c) and the last guard before it
 * leaves. mail_text_has_cpr(): CPR shapes with a hyphen, a space or
 * nothing between the parts, anywhere in a text, but not inside longer runs
 * of digits; UUIDs (Message-IDs, links) are not looked into; dates,
 * reference numbers and times are no CPR numbers; the length is obeyed.
 * mail_build(): the headers (From, To, Date, Message-ID, an RFC 2047
 * Subject that decodes to the Danish text, in encoded words of whole
 * characters on lines of at most 76 characters, MIME, Auto-Submitted), CRLF line
 * ends only, the body's facts (reference, route, status label, planned
 * date, due date, months before 18, the link), nothing of the facts it is
 * not meant to render (CPR number, name, note text in `detail`), and the
 * daily digest's form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stafetd.h"
#include "handover.h"
#include "alerts.h"

/* ---- mail_text_has_cpr ---- */

static bool
has_cpr(const char *s)
{
	return mail_text_has_cpr(s, strlen(s));
}

static void
want_cpr(const char *s, bool want)
{
	if (has_cpr(s) != want)
		fail_msg("mail_text_has_cpr(\"%s\") = %d, want %d", s, !want, want);
}

static void
test_cpr_shapes(void **state)
{
	(void)state;
	/* the three spellings */
	want_cpr("010190-1234", true);
	want_cpr("0101901234", true);
	want_cpr("010190 1234", true);
	/* anywhere in a text, whatever is around it that is not a digit */
	want_cpr("CPR: 010190-1234.", true);
	want_cpr("Borgeren (0101901234) flytter", true);
	want_cpr("x010190 1234x", true);
	want_cpr("\r\n010190-1234\r\n", true);
	want_cpr("abc0101901234def", true); /* hex letters before it: no UUID there */
	want_cpr("STF-2026-000123 010190-1234", true);
	want_cpr("a=010190-1234&b", true);
	/* shaped like one, whatever the date: no date check in the guard */
	want_cpr("999999-9999", true);
	want_cpr("123456 7890", true);
	/* the last of several */
	want_cpr("2026-06-30 2026-07-01 310599-4321", true);
}

static void
test_cpr_not_in_longer_runs(void **state)
{
	(void)state;
	want_cpr("10101901234", false);     /* 11 digits */
	want_cpr("01019012345", false);     /* 11 digits */
	want_cpr("123456789012345", false); /* 15 digits */
	want_cpr("9010190-1234", false);    /* 7 digits, hyphen, 4 */
	want_cpr("010190-12345", false);    /* 6, hyphen, 5 */
	want_cpr("010190 12345", false);
	want_cpr("010190-123", false); /* too short */
	want_cpr("01019-1234", false);
	want_cpr("010190--1234", false); /* two separators */
	want_cpr("010190  1234", false);
	want_cpr("010190/1234", false); /* other separators are no CPR spelling */
	want_cpr("010190.1234", false);
	want_cpr("12345678", false); /* a phone number */
	want_cpr("+45 12 34 56 78", false);
	want_cpr("", false);
	want_cpr("-", false);
}

static void
test_cpr_dates_refs_times(void **state)
{
	(void)state;
	want_cpr("2026-06-30", false);
	want_cpr("Frist: 2026-06-30\r\nPlanlagt overdragelse: 2027-01-04\r\n", false);
	want_cpr("STF-2026-000123", false);
	want_cpr("Reference: STF-2026-000123\r\n", false);
	want_cpr("BURH-2027-004711 venter", false);
	want_cpr("Wed, 02 Dec 2026 02:23:27 +0000", false);
	want_cpr("http://127.0.0.1:41234/#/notater/", false);
	want_cpr("2026-06-30 1234", false);
	want_cpr("20260630 1234", false); /* 8 digits, space, 4 */
	want_cpr("Der er under 6 måneder til det fyldte 18. år.", false);
}

static void
test_cpr_uuids_are_not_looked_into(void **state)
{
	(void)state;
	/* all digits in the hex groups: shaped like CPR parts, but a UUID */
	want_cpr("01019012-3456-7890-1234-567890123456", false);
	want_cpr("<12345678-0101-4190-8234-010190123400@stafet>", false);
	want_cpr("http://x/#/notater/01019012-3456-4890-a234-567890123456\r\n", false);
	want_cpr("0A1B2C3D-0101-9012-3456-789012345678", false); /* upper case */
	want_cpr("Message-ID: <7d0f9b52-6e1c-4b7a-9a57-3c1f2e9d8b10@stafet>\r\n", false);
	/* a UUID does not hide what follows it */
	want_cpr("01019012-3456-7890-1234-567890123456 010190-1234", true);
	want_cpr("<12345678-0101-4190-8234-010190123400@stafet> 0101901234", true);
	/* not a UUID (a group too long or too short): looked into */
	want_cpr("0101901234-1234-1234-1234-123456789012", true);
	want_cpr("010190-1234-1234-1234-123456789012", true);
}

static void
test_cpr_length_is_obeyed(void **state)
{
	char buf[32];
	(void)state;
	/* not NUL-terminated where the length ends */
	memcpy(buf, "0101901234XXXX", 14);
	assert_true(mail_text_has_cpr(buf, 10));
	assert_false(mail_text_has_cpr(buf, 9));
	memcpy(buf, "010190-1234", 11);
	assert_false(mail_text_has_cpr(buf, 10));
	assert_true(mail_text_has_cpr(buf, 11));
	/* what lies past the length does not make a run longer */
	memcpy(buf, "01019012345", 11);
	assert_true(mail_text_has_cpr(buf, 10));
	assert_false(mail_text_has_cpr(buf, 11));
	/* a NUL inside the text is just a character */
	memcpy(buf,
	       "ab\0"
	       "010190-1234",
	       14);
	assert_true(mail_text_has_cpr(buf, 14));
	assert_false(mail_text_has_cpr(NULL, 0));
}

/* ---- mail_build ---- */

static const char *const two_to[] = {"mha@stafet.example", "akh@stafet.example"};
static const char *const one_to[] = {"ur@stafet.example"};
#define NOTE_ID "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"
#define MSG_ID  "<9e8d7c6b-5a49-4382-b1a0-0f1e2d3c4b5a@stafet>"
#define DATE    "Wed, 02 Dec 2026 09:15:00 +0000"

static struct alert_info
info(const char *event)
{
	struct alert_info a;
	memset(&a, 0, sizeof(a));
	a.event = event;
	a.ref = "STF-2026-000123";
	a.note_id = NOTE_ID;
	a.route = "BUR-UR";
	a.status = "submitted";
	a.planned_date = "2026-06-30";
	a.message_id = MSG_ID;
	a.base_url = "https://stafet.kommune.example";
	a.from = "stafet@test.example";
	a.to = one_to;
	a.nto = 1;
	a.date = DATE;
	return a;
}

static char *
build(const struct alert_info *a, size_t *len)
{
	char *m = mail_build(a, len);
	assert_non_null(m);
	assert_int_equal(strlen(m), *len);
	return m;
}

/* Every line ends in CRLF: no bare CR or LF, none longer than 998 octets,
 * and the last line is ended. */
static void
assert_crlf(const char *m, size_t len)
{
	size_t col = 0;
	assert_true(len >= 2);
	assert_memory_equal(m + len - 2, "\r\n", 2);
	for (size_t i = 0; i < len; i++) {
		if (m[i] == '\r') {
			if (i + 1 >= len || m[i + 1] != '\n')
				fail_msg("bare CR at %zu", i);
			i++;
			col = 0;
			continue;
		}
		if (m[i] == '\n')
			fail_msg("bare LF at %zu", i);
		if (++col > 998)
			fail_msg("line longer than 998 octets at %zu", i);
	}
}

/* The header block (up to the empty line), and a pointer to the body. */
static char *
headers_of(const char *m, const char **body)
{
	const char *end = strstr(m, "\r\n\r\n");
	assert_non_null(end);
	*body = end + 4;
	return strndup(m, (size_t)(end - m) + 2);
}

/* The unfolded value of header `name` (first one), or NULL. */
static char *
header(const char *head, const char *name)
{
	size_t n = strlen(name);
	const char *p = head;
	while (*p) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			char *out = calloc(1, strlen(v) + 1);
			size_t k = 0;
			while (*v == ' ')
				v++;
			for (;;) {
				const char *eol = strstr(v, "\r\n");
				assert_non_null(eol);
				memcpy(out + k, v, (size_t)(eol - v));
				k += (size_t)(eol - v);
				if (eol[2] == ' ' || eol[2] == '\t') {
					v = eol + 2; /* folded: the whitespace stays */
					continue;
				}
				break;
			}
			out[k] = '\0';
			return out;
		}
		p = strstr(p, "\r\n");
		if (p == NULL)
			break;
		p += 2;
	}
	return NULL;
}

static int
count_header(const char *head, const char *name)
{
	int n = 0;
	size_t len = strlen(name);
	for (const char *p = head; p; p = strstr(p, "\r\n")) {
		if (*p == '\r')
			p += 2;
		if (strncasecmp(p, name, len) == 0 && p[len] == ':')
			n++;
	}
	return n;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 text[0..n) into out; returns the length. */
static size_t
b64dec(const char *text, size_t n, unsigned char *out)
{
	size_t k = 0;
	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int j = 0; j < 4; j++) {
			v[j] = text[i + j] == '=' ? 0 : b64val(text[i + j]);
			if (v[j] < 0)
				fail_msg("not base64: '%c'", text[i + j]);
		}
		unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[k++] = (unsigned char)(w >> 16);
		if (text[i + 2] != '=')
			out[k++] = (unsigned char)(w >> 8);
		if (text[i + 3] != '=')
			out[k++] = (unsigned char)w;
	}
	return k;
}

static bool
utf8_whole(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		int follow;
		if (s[i] < 0x80)
			follow = 0;
		else if ((s[i] & 0xE0) == 0xC0)
			follow = 1;
		else if ((s[i] & 0xF0) == 0xE0)
			follow = 2;
		else if ((s[i] & 0xF8) == 0xF0)
			follow = 3;
		else
			return false;
		if (i + (size_t)follow >= n + (follow ? 0 : 1))
			return false;
		for (int j = 1; j <= follow; j++)
			if ((s[i + (size_t)j] & 0xC0) != 0x80)
				return false;
		i += (size_t)follow + 1;
	}
	return true;
}

/* The longest line of the Subject field as it stands (folded). */
static int
subject_longest_line(const char *m)
{
	const char *p = strstr(m, "\r\nSubject: ");
	int longest = 0;
	assert_non_null(p);
	p += 2;
	for (;;) {
		const char *eol = strstr(p, "\r\n");
		assert_non_null(eol);
		if (eol - p > longest)
			longest = (int)(eol - p);
		if (eol[2] != ' ' && eol[2] != '\t')
			break;
		p = eol + 2;
	}
	return longest;
}

/*
 * The Subject header as it stands in the message (raw, folded), decoded:
 * either plain ASCII, or RFC 2047 encoded words "=?UTF-8?B?...?=" separated
 * by folding whitespace, each of them whole UTF-8 characters and at most
 * 75 characters.
 */
static char *
decoded_subject(const char *m)
{
	const char *start = strstr(m, "\r\nSubject: ");
	char *out = calloc(1, 1024);
	size_t k = 0;
	assert_non_null(start);
	start += 2;
	const char *p = start + 9;
	bool encoded = strncmp(p, "=?", 2) == 0;
	if (!encoded) {
		const char *eol = strstr(p, "\r\n");
		memcpy(out, p, (size_t)(eol - p));
		for (const char *c = p; c < eol; c++)
			assert_true((unsigned char)*c < 0x80);
		return out;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (strncmp(p, "=?", 2) != 0)
			break;
		assert_true(strncasecmp(p, "=?UTF-8?B?", 10) == 0);
		p += 10;
		const char *q = strstr(p, "?=");
		assert_non_null(q);
		unsigned char word[256];
		size_t n = b64dec(p, (size_t)(q - p), word);
		if (!utf8_whole(word, n))
			fail_msg("an encoded word splits a UTF-8 character: %.*s", (int)(q - p), p);
		assert_true(q - p + 12 <= 75); /* an encoded word is at most 75 characters */
		memcpy(out + k, word, n);
		k += n;
		p = q + 2;
		if (strncmp(p, "\r\n", 2) == 0 && p[2] != ' ' && p[2] != '\t')
			break;
	}
	out[k] = '\0';
	return out;
}

static void
test_headers(void **state)
{
	struct alert_info a = info("submitted");
	const char *body;
	size_t len;
	char *m, *head, *v;
	(void)state;

	a.to = two_to;
	a.nto = 2;
	m = build(&a, &len);
	assert_crlf(m, len);
	head = headers_of(m, &body);

	v = header(head, "From");
	assert_non_null(v);
	assert_non_null(strstr(v, "<stafet@test.example>"));
	free(v);
	v = header(head, "To");
	assert_non_null(v);
	assert_non_null(strstr(v, "<mha@stafet.example>"));
	assert_non_null(strstr(v, "<akh@stafet.example>"));
	assert_non_null(strchr(v, ','));
	free(v);
	v = header(head, "Date");
	assert_string_equal(v, DATE);
	free(v);
	v = header(head, "Message-ID");
	assert_string_equal(v, MSG_ID);
	free(v);
	v = header(head, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = header(head, "Content-Type");
	assert_non_null(v);
	assert_non_null(strstr(v, "text/plain"));
	assert_non_null(strcasestr(v, "charset=utf-8"));
	free(v);
	v = header(head, "Content-Transfer-Encoding");
	assert_string_equal(v, "8bit");
	free(v);
	v = header(head, "Auto-Submitted");
	assert_string_equal(v, "auto-generated");
	free(v);
	v = header(head, "X-Stafet-Event");
	assert_string_equal(v, "submitted");
	free(v);
	/* each header once */
	assert_int_equal(count_header(head, "From"), 1);
	assert_int_equal(count_header(head, "To"), 1);
	assert_int_equal(count_header(head, "Subject"), 1);
	assert_int_equal(count_header(head, "Message-ID"), 1);
	assert_int_equal(count_header(head, "Date"), 1);
	/* no Bcc, no Cc: the envelope is the whole list */
	assert_int_equal(count_header(head, "Bcc"), 0);
	/* headers are ASCII (the subject is encoded where it is not) */
	for (const char *c = head; *c; c++)
		assert_true((unsigned char)*c < 0x80);
	free(head);
	free(m);
}

static void
test_subjects(void **state)
{
	static const struct {
		const char *event, *want;
	} cases[] = {
	    {"submitted", "Nyt overdragelsesnotat til jeres enhed: STF-2026-000123"},
	    {"resubmitted", "Overdragelsesnotat sendt igen efter rettelser: STF-2026-000123"},
	    {"returned", "Overdragelsesnotat returneret: STF-2026-000123"},
	    {"accepted", "Overdragelsesnotat godkendt: STF-2026-000123"},
	    {"forwarded", "Overdragelsesnotat videresendt til jeres enhed: STF-2026-000123"},
	    {"undecided", "Påmindelse: STF-2026-000123 venter på modtagelse eller afgørelse"},
	    {"returned_waiting", "Påmindelse: STF-2026-000123 er returneret og ikke sendt igen"},
	    {"draft_due", "Påmindelse: STF-2026-000123 er stadig en kladde"},
	    {"before_18", "Påmindelse: afgørelse før det fyldte 18. år – STF-2026-000123"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct alert_info a = info(cases[i].event);
		size_t len;
		char *m = build(&a, &len);
		char *s = decoded_subject(m);
		if (strcmp(s, cases[i].want) != 0)
			fail_msg("%s: subject '%s', want '%s'", cases[i].event, s, cases[i].want);
		assert_crlf(m, len);
		free(s);
		free(m);
		assert_non_null(mail_event_label(cases[i].event));
	}
	assert_null(mail_event_label("no-such-event"));
	assert_null(mail_event_label(NULL));
}

/* RFC 2047 section 2: "each line of a header field that contains one or
 * more 'encoded-word's is limited to 76 characters" (and RFC 5322 asks for
 * 78 at most). The first encoded word must therefore go on a line of its
 * own, or be shorter, so that "Subject: " and it fit. */
static void
test_subject_lines_rfc2047(void **state)
{
	static const char *const events[] = {"undecided", "returned_waiting", "draft_due",
	                                     "before_18"};
	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct alert_info a = info(events[i]);
		size_t len;
		char *m = build(&a, &len);
		int longest = subject_longest_line(m);
		free(m); /* before a failure, so a sanitizer build reports no leak */
		if (longest > 76)
			fail_msg("%s: a Subject line with encoded words of %d characters "
			         "(RFC 2047: at most 76)",
			         events[i], longest);
	}
}

static void
test_long_subject_is_split_between_characters(void **state)
{
	/* A long reference makes several encoded words; none may split a
	 * character, and the decoded text must be whole. */
	struct alert_info a = info("before_18");
	size_t len;
	char *m, *s;
	(void)state;
	a.ref = "BURH-2027-000042-ÆØÅ-æøå-ÆØÅ-æøå-ÆØÅ-æøå";
	m = build(&a, &len);
	s = decoded_subject(m);
	assert_string_equal(s, "Påmindelse: afgørelse før det fyldte 18. år – "
	                       "BURH-2027-000042-ÆØÅ-æøå-ÆØÅ-æøå-ÆØÅ-æøå");
	free(s);
	free(m);
}

static void
test_body_facts(void **state)
{
	struct alert_info a = info("undecided");
	json_t *detail = json_pack("{s:s}", "due", "2027-04-01");
	const char *body;
	size_t len;
	char *m, *head;
	(void)state;

	a.status = "received";
	a.due = "2027-04-01";
	a.detail = detail;
	m = build(&a, &len);
	head = headers_of(m, &body);
	assert_non_null(strstr(body, "Reference: STF-2026-000123\r\n"));
	assert_non_null(strstr(body, "Rute: BUR-UR\r\n"));
	assert_non_null(strstr(body, "Status: modtaget\r\n")); /* the Danish label */
	assert_non_null(strstr(body, "Planlagt overdragelse: 2026-06-30\r\n"));
	assert_non_null(strstr(body, "Frist: 2027-04-01\r\n"));
	assert_non_null(strstr(body, "https://stafet.kommune.example/#/notater/" NOTE_ID "\r\n"));
	assert_false(mail_text_has_cpr(m, len));
	free(head);
	free(m);
	json_decref(detail);

	/* without a planned date or due date: neither line */
	a = info("accepted");
	a.status = "accepted";
	a.planned_date = NULL;
	m = build(&a, &len);
	head = headers_of(m, &body);
	assert_null(strstr(body, "Planlagt overdragelse"));
	assert_null(strstr(body, "Frist"));
	assert_non_null(strstr(body, "Status: godkendt\r\n"));
	free(head);
	free(m);

	/* before_18: the months */
	a = info("before_18");
	a.status = "draft";
	detail = json_pack("{s:i}", "months", 3);
	a.detail = detail;
	m = build(&a, &len);
	head = headers_of(m, &body);
	assert_non_null(strstr(body, "Der er under 3 måneder til det fyldte 18. år.\r\n"));
	assert_non_null(strstr(body, "Status: kladde\r\n"));
	free(head);
	free(m);
	json_decref(detail);
}

static void
test_no_personal_data_from_detail(void **state)
{
	/* The builder renders the facts it knows, never whatever else a detail
	 * object may carry. */
	struct alert_info a = info("returned_waiting");
	json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "due", "2027-01-04", "cpr",
	                           "010190-1234", "name", "Zacharias Ørnebjerg", "text",
	                           "Den unge har en hemmelig diagnose", "citizen", "cpr",
	                           "0101901234", "name", "Zacharias Ørnebjerg");
	size_t len;
	char *m;
	(void)state;
	a.detail = detail;
	a.due = "2027-01-04";
	a.status = "returned";
	m = build(&a, &len);
	assert_null(strstr(m, "1234"));
	assert_null(strstr(m, "Zacharias"));
	assert_null(strstr(m, "Ørnebjerg"));
	assert_null(strstr(m, "hemmelig"));
	assert_false(mail_text_has_cpr(m, len));
	assert_non_null(strstr(m, "Frist: 2027-01-04\r\n"));
	free(m);
	json_decref(detail);
}

static void
test_digest(void **state)
{
	struct alert_info a = info("digest");
	json_t *detail = json_pack(
	    "{s:[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, "
	    "s:s}, {s:s, s:s, s:s, s:s, s:s}]}",
	    "items", "event", "submitted", "id", "11111111-2222-4333-8444-555555555555", "ref",
	    "STF-2026-000201", "route", "BUR-UR", "status", "submitted", "name",
	    "Zacharias Ørnebjerg", "event", "returned", "id",
	    "66666666-7777-4888-9999-aaaaaaaaaaaa", "ref", "STF-2026-000202", "route", "BUR-UR",
	    "status", "returned", "event", "before_18", "id",
	    "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff", "ref", "BURH-2026-000007", "route", "BURH-AEHF",
	    "status", "draft", "event", "notice_acknowledged", "id",
	    "12121212-3434-4565-8787-909090909090", "ref", "VAR-2027-000012", "route", "BUR-UR",
	    "status", "acknowledged");
	const char *body;
	size_t len;
	char *m, *head, *s, *v;
	(void)state;

	a.ref = NULL;
	a.note_id = NULL;
	a.route = NULL;
	a.status = NULL;
	a.planned_date = NULL;
	a.detail = detail;
	a.to = (const char *const[]){"akh@stafet.example"};
	a.nto = 1;
	m = build(&a, &len);
	assert_crlf(m, len);
	head = headers_of(m, &body);
	s = decoded_subject(m);
	assert_string_equal(s, "Dagens overdragelser i Stafet (4)");
	free(s);
	v = header(head, "X-Stafet-Event");
	assert_string_equal(v, "digest");
	free(v);
	v = header(head, "Message-ID");
	assert_string_equal(v, MSG_ID);
	free(v);
	v = header(head, "To");
	assert_string_equal(v, "<akh@stafet.example>");
	free(v);
	/* every item: its subject line with the ref, route, status, link */
	assert_non_null(
	    strstr(body, "Nyt overdragelsesnotat til jeres enhed: STF-2026-000201\r\n"));
	assert_non_null(strstr(body, "Overdragelsesnotat returneret: STF-2026-000202\r\n"));
	assert_non_null(strstr(body, "BURH-2026-000007"));
	assert_non_null(strstr(body, "Rute: BUR-UR. Status: sendt."));
	assert_non_null(strstr(body, "Rute: BUR-UR. Status: returneret."));
	assert_non_null(strstr(body, "Rute: BURH-AEHF. Status: kladde."));
	assert_non_null(strstr(
	    body,
	    "https://stafet.kommune.example/#/notater/11111111-2222-4333-8444-555555555555\r\n"));
	assert_non_null(strstr(
	    body,
	    "https://stafet.kommune.example/#/notater/66666666-7777-4888-9999-aaaaaaaaaaaa\r\n"));
	assert_non_null(strstr(
	    body,
	    "https://stafet.kommune.example/#/notater/bbbbbbbb-cccc-4ddd-8eee-ffffffffffff\r\n"));
	/* a notice's item links to the notice's page, not to a note */
	assert_non_null(strstr(
	    body,
	    "https://stafet.kommune.example/#/varsler/12121212-3434-4565-8787-909090909090\r\n"));
	assert_null(strstr(body, "#/notater/12121212"));
	/* in order */
	assert_true(strstr(body, "000201") < strstr(body, "000202"));
	assert_true(strstr(body, "000202") < strstr(body, "BURH-2026-000007"));
	/* the digest has no single reference, and no name from an item */
	assert_null(strstr(body, "Reference:"));
	assert_null(strstr(m, "Zacharias"));
	assert_false(mail_text_has_cpr(m, len));
	free(head);
	free(m);
	json_decref(detail);

	/* an empty digest still builds */
	detail = json_pack("{s:[]}", "items");
	a.detail = detail;
	m = build(&a, &len);
	s = decoded_subject(m);
	assert_string_equal(s, "Dagens overdragelser i Stafet (0)");
	free(s);
	assert_crlf(m, len);
	free(m);
	json_decref(detail);
}

static void
test_every_event_builds_clean(void **state)
{
	static const char *const events[] = {
	    "submitted", "resubmitted", "returned",         "accepted",  "forwarded",
	    "rerouted",  "undecided",   "returned_waiting", "draft_due", "before_18"};
	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct alert_info a = info(events[i]);
		size_t len;
		char *m;
		a.to = two_to;
		a.nto = 2;
		a.due = "2026-12-31";
		m = build(&a, &len);
		assert_crlf(m, len);
		if (mail_text_has_cpr(m, len))
			fail_msg("%s: the mail itself looks like it holds a CPR number", events[i]);
		char *s = decoded_subject(m);
		assert_non_null(strstr(s, "STF-2026-000123"));
		free(s);
		free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpr_shapes),
	    cmocka_unit_test(test_cpr_not_in_longer_runs),
	    cmocka_unit_test(test_cpr_dates_refs_times),
	    cmocka_unit_test(test_cpr_uuids_are_not_looked_into),
	    cmocka_unit_test(test_cpr_length_is_obeyed),
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_subjects),
	    cmocka_unit_test(test_subject_lines_rfc2047),
	    cmocka_unit_test(test_long_subject_is_split_between_characters),
	    cmocka_unit_test(test_body_facts),
	    cmocka_unit_test(test_no_personal_data_from_detail),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_every_event_builds_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
