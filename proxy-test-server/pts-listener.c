/* pts-listener.c — a listening socket that guards the descriptors behind it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-net"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "pts-listener.h"
#include "pts-net.h"

/* Accepts per main-loop dispatch, so that one busy listener can't starve
 * the rest of the server. */
#define PTS_LISTENER_ACCEPTS_PER_DISPATCH 32
/* How long accepting pauses when the process is out of descriptors. */
#define PTS_LISTENER_BACKOFF_MS 250
/* At most one "limit reached" line per listener in this many seconds. */
#define PTS_LISTENER_LOG_INTERVAL_S 10

struct _PtsListener
{
  PtsListenerConfig config;
  char *name;
  char *refusal;
  PtsListenerFunc accepted;
  gpointer user_data;
  GSocket *socket;
  GSource *source;
  guint backoff_id;
  gboolean exhausted; /* out of descriptors: said once, until it recovers */
  /* The three tables are read and changed under @lock: a connection may be
   * finalized in any thread (a TLS handshake's, say, holding the last
   * reference), and its weak notification changes them there. A pthread
   * mutex, which ThreadSanitizer sees (GLib's GMutex it does not). */
  pthread_mutex_t lock;
  GHashTable *open;        /* GSocketConnection * (weak) → PtsListenerEntry */
  GHashTable *by_peer;     /* "address:port" → GSocketConnection * (weak), the newest */
  GHashTable *per_address; /* address string → count */
  gint64 last_refusal_log;
  guint refused_since_log;
};

/* What the listener knows of an open connection. */
typedef struct
{
  char *address; /* the remote IP address, for the per-address limit */
  char *peer;    /* address:port, for pts_listener_socket_of() */
} PtsListenerEntry;

static void
pts_listener_entry_free (PtsListenerEntry *entry)
{
  g_free (entry->address);
  g_free (entry->peer);
  g_free (entry);
}

static gboolean pts_listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
pts_listener_watch (PtsListener *self)
{
  if (self->source != NULL || self->socket == NULL)
    return;
  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (pts_listener_ready), self, NULL);
  g_source_attach (self->source, NULL);
}

static void
pts_listener_unwatch (PtsListener *self)
{
  if (self->source == NULL)
    return;
  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
}

/* A tracked connection was finalized: its descriptor is free again. */
static void
pts_listener_closed (gpointer data, GObject *where_the_object_was)
{
  PtsListener *self = data;
  PtsListenerEntry *entry = NULL;
  guint count;

  /* In whatever thread dropped the last reference. */
  pthread_mutex_lock (&self->lock);
  if (!g_hash_table_steal_extended (self->open, where_the_object_was, NULL, (gpointer *) &entry))
    {
      pthread_mutex_unlock (&self->lock);
      return;
    }
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, entry->address));
  if (count <= 1)
    g_hash_table_remove (self->per_address, entry->address);
  else
    g_hash_table_insert (self->per_address, g_strdup (entry->address),
                         GUINT_TO_POINTER (count - 1));
  /* Its address:port may already belong to a newer connection. */
  if (entry->peer != NULL
      && g_hash_table_lookup (self->by_peer, entry->peer) == where_the_object_was)
    g_hash_table_remove (self->by_peer, entry->peer);
  pthread_mutex_unlock (&self->lock);
  pts_listener_entry_free (entry);
}

static void
pts_listener_refuse (PtsListener *self, GSocket *socket, const char *address, const char *why)
{
  gint64 now = g_get_monotonic_time ();

  /* A few bytes into a fresh socket buffer: they never block. */
  if (self->refusal != NULL)
    g_socket_send_with_blocking (socket, self->refusal, strlen (self->refusal), FALSE, NULL, NULL);
  g_socket_close (socket, NULL);
  self->refused_since_log++;
  if (now - self->last_refusal_log >= (gint64) PTS_LISTENER_LOG_INTERVAL_S * G_USEC_PER_SEC)
    {
      g_message ("%s: refused %u connection%s (%s, the last from %s)", self->name,
                 self->refused_since_log, self->refused_since_log == 1 ? "" : "s", why, address);
      self->refused_since_log = 0;
      self->last_refusal_log = now;
    }
}

static gboolean
pts_listener_resume (gpointer user_data)
{
  PtsListener *self = user_data;

  self->backoff_id = 0;
  pts_listener_watch (self);
  return G_SOURCE_REMOVE;
}

static void
pts_listener_accept_one (PtsListener *self, GSocket *socket)
{
  g_autoptr (GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autofree char *address = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  PtsListenerEntry *entry;
  gboolean loopback = FALSE;
  guint count, open;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));

      address = g_inet_address_to_string (inet);
      loopback = g_inet_address_get_is_loopback (inet);
    }
  else
    address = g_strdup ("local");
  pthread_mutex_lock (&self->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
  open = g_hash_table_size (self->open);
  pthread_mutex_unlock (&self->lock);
  if (self->config.max_connections > 0 && open >= self->config.max_connections)
    {
      pts_listener_refuse (self, socket, address, "too many connections");
      return;
    }
  if (self->config.max_per_address > 0 && !(loopback && self->config.exempt_loopback)
      && count >= self->config.max_per_address)
    {
      pts_listener_refuse (self, socket, address, "too many from one address");
      return;
    }
  g_socket_set_timeout (socket, self->config.idle_timeout);
  conn = g_socket_connection_factory_create_connection (socket);
  entry = g_new0 (PtsListenerEntry, 1);
  entry->address = g_strdup (address);
  if (remote != NULL)
    entry->peer = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  pthread_mutex_lock (&self->lock);
  if (entry->peer != NULL)
    g_hash_table_replace (self->by_peer, g_strdup (entry->peer), conn);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
  g_hash_table_insert (self->per_address, g_steal_pointer (&address), GUINT_TO_POINTER (count + 1));
  g_hash_table_insert (self->open, conn, entry);
  pthread_mutex_unlock (&self->lock);
  g_object_weak_ref (G_OBJECT (conn), pts_listener_closed, self);
  /* Unlocked: the callee may drop the connection at once. */
  self->accepted (conn, self->user_data);
}

static gboolean
pts_listener_ready (GSocket *listening, GIOCondition condition, gpointer user_data)
{
  PtsListener *self = user_data;

  for (guint i = 0; i < PTS_LISTENER_ACCEPTS_PER_DISPATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) socket = g_socket_accept (listening, NULL, &error);

      if (socket != NULL)
        {
          if (self->exhausted)
            {
              g_message ("%s: accepting again", self->name);
              self->exhausted = FALSE;
            }
          pts_listener_accept_one (self, socket);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
        {
          /* The connection waits in the backlog; spinning on it would
           * only burn the CPU and flood the log. */
          if (!self->exhausted)
            g_message ("%s: %s; not accepting for a while (%u connections open here)", self->name,
                       error->message, pts_listener_count (self));
          self->exhausted = TRUE;
          pts_listener_unwatch (self);
          self->backoff_id = g_timeout_add (PTS_LISTENER_BACKOFF_MS, pts_listener_resume, self);
          return G_SOURCE_REMOVE;
        }
      /* A connection that went away before we took it, and the like. */
      g_debug ("%s: accept: %s", self->name, error->message);
      break;
    }
  return G_SOURCE_CONTINUE;
}

PtsListener *
pts_listener_new (const PtsListenerConfig *config, PtsListenerFunc accepted, gpointer user_data)
{
  PtsListener *self = g_new0 (PtsListener, 1);

  self->config = *config;
  self->name = g_strdup (config->name);
  self->refusal = g_strdup (config->refusal);
  self->config.name = self->name;
  self->config.refusal = self->refusal;
  self->accepted = accepted;
  self->user_data = user_data;
  self->open = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) pts_listener_entry_free);
  self->by_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pthread_mutex_init (&self->lock, NULL);
  return self;
}

guint16
pts_listener_listen (PtsListener *self, const char *address, guint16 port, GError **error)
{
  g_return_val_if_fail (self->socket == NULL, 0);
  self->socket = pts_net_listen_socket (address, port, error);
  if (self->socket == NULL)
    return 0;
  g_socket_set_blocking (self->socket, FALSE);
  pts_listener_watch (self);
  return pts_net_local_port (self->socket);
}

guint
pts_listener_count (PtsListener *self)
{
  guint count;

  pthread_mutex_lock (&self->lock);
  count = g_hash_table_size (self->open);
  pthread_mutex_unlock (&self->lock);
  return count;
}

GSocket *
pts_listener_socket_of (PtsListener *self, GSocketAddress *remote)
{
  g_autofree char *peer = NULL;
  GSocketConnection *conn;

  if (remote == NULL)
    return NULL;
  peer = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  /* Only for plain HTTP connections, which live and die on the main
   * thread with libsoup: the one found is not being finalized meanwhile. */
  pthread_mutex_lock (&self->lock);
  conn = g_hash_table_lookup (self->by_peer, peer);
  pthread_mutex_unlock (&self->lock);
  return conn != NULL ? g_socket_connection_get_socket (conn) : NULL;
}

void
pts_listener_free (PtsListener *self)
{
  GHashTableIter iter;
  gpointer conn;

  if (self == NULL)
    return;
  pts_listener_unwatch (self);
  g_clear_handle_id (&self->backoff_id, g_source_remove);
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
  /* Connections may outlive the listener: they stop being counted. */
  pthread_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    g_object_weak_unref (conn, pts_listener_closed, self);
  pthread_mutex_unlock (&self->lock);
  pthread_mutex_destroy (&self->lock);
  g_hash_table_unref (self->open);
  g_hash_table_unref (self->by_peer);
  g_hash_table_unref (self->per_address);
  g_free (self->name);
  g_free (self->refusal);
  g_free (self);
}

void
pts_listener_raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
    return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    g_debug ("could not raise the open-file limit: %s", g_strerror (errno));
}
