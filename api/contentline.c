/*
 * contentline.c: one content line of iCalendar (RFC 5545 3.1) or vCard
 * (RFC 6350 3.2), as calendar.c and vcard.c write them: folded so that no
 * line is longer than 75 octets (a continuation starts with a space, which
 * counts), never inside a UTF-8 sequence, each ended with CRLF.
 */
#include <string.h>

#include <event2/buffer.h>

#include "stafetd.h"
#include "api.h"

#define LINE_OCTETS 75

void
api_content_line(struct evbuffer *b, const char *line)
{
	size_t len = strlen(line), pos = 0, room = LINE_OCTETS;

	while (len - pos > room) {
		size_t cut = pos + room;
		while (cut > pos && ((unsigned char)line[cut] & 0xC0) == 0x80)
			cut--;
		evbuffer_add(b, line + pos, cut - pos);
		evbuffer_add(b, "\r\n ", 3);
		pos = cut;
		room = LINE_OCTETS - 1;
	}
	evbuffer_add(b, line + pos, len - pos);
	evbuffer_add(b, "\r\n", 2);
}
