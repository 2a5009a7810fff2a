/* bsb-net.h — blocking loopback sockets for the benchmark clients
 *
 * Every call is bounded: sockets get receive and send timeouts, and the
 * helpers give up with a GError instead of waiting for ever.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BSB_ERROR (bsb_error_quark ())
GQuark bsb_error_quark (void);

typedef enum
{
  BSB_ERROR_IO,       /* a socket call failed or timed out */
  BSB_ERROR_PROTOCOL, /* the peer said something unexpected */
  BSB_ERROR_VERIFY,   /* the received bytes are not the ones sent */
  BSB_ERROR_USAGE,
} BsbError;

/* Splits "host:port" (IPv4 or a name); FALSE on a bad address. */
gboolean bsb_net_parse_address (const char *address, char **host, guint16 *port, GError **error);

/* A connected TCP socket with @timeout_s receive/send timeouts, or -1. */
int bsb_net_connect (const char *host, guint16 port, int timeout_s, GError **error);

/* Like bsb_net_connect(), retrying while nothing listens yet, for at most
 * @wait_ms milliseconds. */
int bsb_net_connect_retry (const char *host, guint16 port, int timeout_s, int wait_ms,
                           GError **error);

gboolean bsb_net_write_all (int fd, const void *data, gsize len, GError **error);
gboolean bsb_net_read_exact (int fd, void *data, gsize len, GError **error);
/* One recv(): > 0 bytes, 0 at EOF, -1 on error (timeout included). */
gssize bsb_net_read (int fd, void *data, gsize len, GError **error);

/* Where a thread keeps the socket it blocks on, so that another thread can
 * break the wait (shutdown()) when the measurement is abandoned. */
typedef struct
{
  GMutex lock;
  int fd;
  gboolean cancelled;
} BsbSocketSlot;

void bsb_socket_slot_init (BsbSocketSlot *slot);
void bsb_socket_slot_clear (BsbSocketSlot *slot);
/* Publishes @fd; FALSE (and @error) if the slot was cancelled already. */
gboolean bsb_socket_slot_set (BsbSocketSlot *slot, int fd, GError **error);
/* Forgets the socket before its owner closes it. */
void bsb_socket_slot_unset (BsbSocketSlot *slot);
/* Shuts the published socket down, now and for any published later. */
void bsb_socket_slot_cancel (BsbSocketSlot *slot);

/* @n loopback TCP ports that were free a moment ago. */
GArray *bsb_net_free_ports (guint n, GError **error);

G_END_DECLS
