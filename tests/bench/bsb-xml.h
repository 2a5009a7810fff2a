/* bsb-xml.h — just enough XML to drive an XMPP stream from a benchmark
 *
 * No DOM: the client keeps each stanza as text and looks things up in it.
 * Element names are matched on their local part (after any prefix).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The length of the stream header at the start of @buf (an optional
 * prolog and the <stream:stream …> start tag), 0 if it is not all there
 * yet, -1 if @buf does not start one. */
gssize bsb_xml_stream_header_len (const char *buf, gsize len);

/* The length of the first complete element of @buf after leading
 * whitespace, 0 if it is not all there yet, -1 on a stream end tag or
 * garbage. *@skip receives the whitespace length before it. */
gssize bsb_xml_element_len (const char *buf, gsize len, gsize *skip);

/* The local name of the element that @elem starts with ("iq"). */
char *bsb_xml_name (const char *elem);

/* The first element named @name in @xml (the outer one included), or NULL. */
const char *bsb_xml_find (const char *xml, const char *name);

/* The unescaped value of attribute @attr on the start tag at @elem, or NULL. */
char *bsb_xml_attr (const char *elem, const char *attr);

/* The unescaped text right inside the element at @elem, or NULL. */
char *bsb_xml_text (const char *elem);

/* Escapes text for an attribute value or character data. */
char *bsb_xml_escape (const char *text);

G_END_DECLS
