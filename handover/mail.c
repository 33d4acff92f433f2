/*
 * mail.c: the text of an alert, and the last guard before it leaves.
 *
 * An alert says that something happened to a note and where to look: the
 * reference number, the route, the status, a due date and a link. It never
 * holds a CPR number, a name or any text of the note: unencrypted mail may
 * not carry sensitive personal data. The builder only ever gets those
 * harmless facts; as a last guard, mail_text_has_cpr() refuses any text
 * with something shaped like a CPR number in it.
 *
 * Mails are plain text, UTF-8, 8bit (so what is sent is what is scanned),
 * lines well under 998 octets, CRLF.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "handover.h"
#include "alerts.h"

static const struct {
	const char *event;
	const char *subject; /* %s: the reference number */
	const char *text;
} events[] = {
    {"submitted", "Nyt overdragelsesnotat til jeres enhed: %s",
     "Et overdragelsesnotat er sendt til jer. Åbn det i Stafet, og godkend det eller returnér "
     "det med markeringer af, hvad der mangler."},
    {"resubmitted", "Overdragelsesnotat sendt igen efter rettelser: %s",
     "Et notat, I returnerede, er rettet og sendt igen."},
    {"returned", "Overdragelsesnotat returneret: %s",
     "Modtageren har returneret notatet med markeringer af, hvad der mangler eller er "
     "upræcist. Ret notatet, og send det igen."},
    {"accepted", "Overdragelsesnotat godkendt: %s", "Modtageren har godkendt notatet."},
    {"forwarded", "Overdragelsesnotat videresendt til jeres enhed: %s",
     "Et overdragelsesnotat er videresendt til jer fra en anden enhed."},
    {"rerouted", "Overdragelsesnotat flyttet til jeres enhed: %s",
     "Notatets navngivne modtager findes ikke længere i kataloget (eller enheden er lukket), "
     "så notatet ligger nu hos jeres enhed. Fordel det til en ny modtager."},
    {"undecided", "Påmindelse: %s venter på modtagelse eller afgørelse",
     "Notatet er ikke godkendt eller returneret inden for fristen."},
    {"returned_waiting", "Påmindelse: %s er returneret og ikke sendt igen",
     "Notatet blev returneret og er endnu ikke rettet og sendt igen."},
    {"draft_due", "Påmindelse: %s er stadig en kladde",
     "Den planlagte overdragelse nærmer sig, og notatet er endnu ikke sendt."},
    {"notice_acknowledged", "Varsel kvitteret: %s",
     "Den modtagende enhed har kvitteret for jeres varsel om en kommende overdragelse."},
    {"notice_milestone", "Påmindelse: en milepæl for varslet %s nærmer sig",
     "En milepæl for et varsel om en kommende overdragelse har frist snart."},
    {"before_18", "Påmindelse: afgørelse før det fyldte 18. år – %s",
     "Voksenafgørelsen skal have virkning fra det fyldte 18. år, og notatet er endnu ikke "
     "godkendt af modtageren."},
};

static const struct {
	const char *status, *label;
} status_labels[] = {
    {"draft", "kladde"},
    {"submitted", "sendt"},
    {"received", "modtaget"},
    {"returned", "returneret"},
    {"accepted", "godkendt"},
    {"withdrawn", "trukket tilbage"},
    /* notices (varsler) */
    {"open", "åbent"},
    {"acknowledged", "kvitteret"},
    {"converted", "omdannet til notat"},
    {"cancelled", "annulleret"},
};

const char *
mail_event_label(const char *event)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (event && strcmp(events[i].event, event) == 0)
			return events[i].subject;
	return NULL;
}

static const char *
status_label(const char *status)
{
	for (size_t i = 0; i < sizeof(status_labels) / sizeof(status_labels[0]); i++)
		if (status && strcmp(status_labels[i].status, status) == 0)
			return status_labels[i].label;
	return status ? status : "-";
}

/* The subject template with its one "%s" replaced by `ref`. */
static void
fill(char *out, size_t outsz, const char *tmpl, const char *ref)
{
	const char *at = tmpl ? strstr(tmpl, "%s") : NULL;
	if (at == NULL) {
		snprintf(out, outsz, "Stafet: %s", ref ? ref : "");
		return;
	}
	snprintf(out, outsz, "%.*s%s%s", (int)(at - tmpl), tmpl, ref ? ref : "", at + 2);
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of a UUID (8-4-4-4-12 hex digits) at p, or 0. */
static size_t
uuid_at(const char *p, size_t left)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	size_t n = 0;
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, n++)
			if (n >= left || !is_hex(p[n]))
				return 0;
		if (g < 4) {
			if (n >= left || p[n] != '-')
				return 0;
			n++;
		}
	}
	return (n < left && is_hex(p[n])) ? 0 : n;
}

static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
mail_text_has_cpr(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t u;
		if ((i == 0 || !is_hex(t[i - 1])) && (u = uuid_at(t + i, len - i)) > 0) {
			i += u - 1;
			continue;
		}
		if (!digit(t[i]) || (i > 0 && digit(t[i - 1])))
			continue;
		size_t j = i, run = 0;
		while (j < len && digit(t[j]) && run < 6) {
			j++;
			run++;
		}
		if (run != 6)
			continue;
		if (j < len && (t[j] == '-' || t[j] == ' '))
			j++;
		run = 0;
		while (j < len && digit(t[j]) && run < 4) {
			j++;
			run++;
		}
		if (run == 4 && (j >= len || !digit(t[j])))
			return true;
	}
	return false;
}

/* RFC 2047 encoded word for a UTF-8 header value (base64). */
static void
encode_word(struct evbuffer *b, const char *s)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	bool ascii = true;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	if (ascii) {
		evbuffer_add(b, s, n);
		return;
	}
	/* Words of at most 36 input bytes (48 encoded, 60 with the markers),
	 * split between characters, so that even the first line, after
	 * "Subject: ", stays within RFC 2047's 76. */
	size_t i = 0;
	while (i < n) {
		size_t take = n - i > 36 ? 36 : n - i;
		while (i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80)
			take--;
		if (i > 0)
			evbuffer_add(b, "\r\n ", 3);
		evbuffer_add(b, "=?UTF-8?B?", 10);
		for (size_t k = 0; k < take; k += 3) {
			unsigned v = (unsigned char)s[i + k] << 16;
			size_t rem = take - k;
			if (rem > 1)
				v |= (unsigned char)s[i + k + 1] << 8;
			if (rem > 2)
				v |= (unsigned char)s[i + k + 2];
			char out[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
			               rem > 1 ? tbl[(v >> 6) & 63] : '=',
			               rem > 2 ? tbl[v & 63] : '='};
			evbuffer_add(b, out, 4);
		}
		evbuffer_add(b, "?=", 2);
		i += take;
	}
}

/* The link to what the alert is about: a notice's page for the notice_*
 * events, else the note's. */
static void
link_line(struct evbuffer *b, const char *base, const char *event, const char *id)
{
	bool notice = event && strncmp(event, "notice_", 7) == 0;
	evbuffer_add_printf(b, "%s/#/%s/%s\r\n", base, notice ? "varsler" : "notater", id);
}

char *
mail_build(const struct alert_info *a, size_t *len)
{
	struct evbuffer *b = evbuffer_new();
	char subject[256];
	const char *text = "";
	char *out;

	if (strcmp(a->event, "digest") == 0) {
		snprintf(subject, sizeof(subject), "Dagens overdragelser i Stafet (%zu)",
		         json_array_size(json_object_get(a->detail, "items")));
	} else {
		const char *fmt = mail_event_label(a->event);
		for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			if (strcmp(events[i].event, a->event) == 0)
				text = events[i].text;
		fill(subject, sizeof(subject), fmt, a->ref);
	}
	evbuffer_add_printf(b, "From: Stafet <%s>\r\nTo: ", a->from);
	for (size_t i = 0; i < a->nto; i++)
		evbuffer_add_printf(b, "%s<%s>", i ? ",\r\n " : "", a->to[i]);
	evbuffer_add_printf(b, "\r\nDate: %s\r\nMessage-ID: %s\r\nSubject: ", a->date,
	                    a->message_id);
	encode_word(b, subject);
	evbuffer_add_printf(b,
	                    "\r\nMIME-Version: 1.0\r\n"
	                    "Content-Type: text/plain; charset=utf-8\r\n"
	                    "Content-Transfer-Encoding: 8bit\r\n"
	                    "Auto-Submitted: auto-generated\r\n"
	                    "X-Auto-Response-Suppress: All\r\n"
	                    "X-Stafet-Event: %s\r\n\r\n",
	                    a->event);
	if (strcmp(a->event, "digest") == 0) {
		const json_t *items = json_object_get(a->detail, "items"), *it;
		size_t i;
		evbuffer_add_printf(
		    b, "Her er dagens hændelser på overdragelsesnotater, som du følger:"
		       "\r\n\r\n");
		json_array_foreach (items, i, it) {
			const char *ev = json_str(it, "event"), *fmt = mail_event_label(ev);
			char line[256];
			fill(line, sizeof(line), fmt, json_str(it, "ref"));
			evbuffer_add_printf(b, "- %s\r\n  Rute: %s. Status: %s.\r\n  ", line,
			                    json_str(it, "route") ? json_str(it, "route") : "-",
			                    status_label(json_str(it, "status")));
			link_line(b, a->base_url, ev, json_str(it, "id") ? json_str(it, "id") : "");
		}
	} else {
		evbuffer_add_printf(b, "%s\r\n\r\nReference: %s\r\nRute: %s\r\nStatus: %s\r\n",
		                    text, a->ref ? a->ref : "-", a->route ? a->route : "-",
		                    status_label(a->status));
		if (a->planned_date)
			evbuffer_add_printf(b, "Planlagt overdragelse: %s\r\n", a->planned_date);
		if (json_str(a->detail, "label")) /* a notice's milestone: the route's words */
			evbuffer_add_printf(b, "Milepæl: %s\r\n", json_str(a->detail, "label"));
		if (a->due)
			evbuffer_add_printf(b, "Frist: %s\r\n", a->due);
		if (json_integer_value(json_object_get(a->detail, "months")) > 0)
			evbuffer_add_printf(
			    b,
			    "Der er under %" JSON_INTEGER_FORMAT
			    " måneder til det fyldte 18. år.\r\n",
			    json_integer_value(json_object_get(a->detail, "months")));
		evbuffer_add_printf(
		    b, "\r\nSe %s: ", strncmp(a->event, "notice_", 7) == 0 ? "varslet" : "notatet");
		link_line(b, a->base_url, a->event, a->note_id ? a->note_id : "");
	}
	evbuffer_add_printf(b,
	                    "\r\nDenne mail indeholder ingen personoplysninger. Log ind i Stafet "
	                    "for at se notatet.\r\nDu kan vælge én samlet mail om dagen under "
	                    "dine indstillinger i Stafet.\r\n");
	*len = evbuffer_get_length(b);
	out = xmalloc(*len + 1);
	evbuffer_remove(b, out, *len);
	out[*len] = '\0';
	evbuffer_free(b);
	return out;
}
