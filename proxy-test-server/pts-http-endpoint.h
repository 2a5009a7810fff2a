/* pts-http-endpoint.h — an HTTP upload as a relay source, a download as a sink
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "pts-relay.h"

G_BEGIN_DECLS

/* The POST of the sender: multipart/form-data whose SIDHASH part must come
 * first and equal @sidhash; the FILE part streams into the relay.
 * @max_size 0 = no limit. */
PtsEndpoint *pts_http_upload_new (const char *sidhash, gint64 max_size);
/* Takes the POST (from an early handler). Returns 0 when it is taken, else
 * the HTTP status to refuse it with. */
guint pts_http_upload_attach (PtsEndpoint *ep, SoupServerMessage *msg);
/* The request body is complete (from the normal handler). */
void pts_http_upload_got_body (PtsEndpoint *ep, SoupServerMessage *msg);
gboolean pts_http_upload_is_attached (PtsEndpoint *ep);
gint64 pts_http_upload_get_total (PtsEndpoint *ep);

/* The GET of the receiver. */
PtsEndpoint *pts_http_download_new (void);
guint pts_http_download_attach (PtsEndpoint *ep, SoupServerMessage *msg);
gboolean pts_http_download_is_attached (PtsEndpoint *ep);

gboolean pts_http_endpoint_is_upload (PtsEndpoint *ep);
gboolean pts_http_endpoint_is_download (PtsEndpoint *ep);

/* Answers a request whose endpoint already ended; FALSE when there is
 * nothing pending. */
gboolean pts_http_answer_pending (SoupServerMessage *msg);

/* Closes the connections of refused uploads still being drained. */
void pts_http_endpoint_shutdown (void);

/* The status a failed transfer is answered with. */
guint pts_http_status_for_error (const GError *error);

G_END_DECLS
