/* bsb-main.c — bsb-bench: the benchmark's client, one measurement per run
 *
 *   bsb-bench relay [OPTION…]   N simultaneous transfers through an XMPP
 *                               bytestreams proxy (any of the four
 *                               SOCKS5/HTTP pairs), timed and verified
 *   bsb-bench socat [OPTION…]   one transfer through a socat TCP relay
 *   bsb-bench ports --count N   N free loopback ports, one a line
 *   bsb-bench wait --address HOST:PORT
 *                               waits (bounded) until something accepts
 *   bsb-bench file --size S --seed N --output PATH
 *                               writes the data stream to a file
 *   bsb-bench stamp             copies stdin to stdout, each line prefixed
 *                               with the monotonic clock in microseconds
 *   bsb-bench upload [OPTION…]  one file through XEP-0363 HTTP File Upload
 *                               (slot, PUT, GET), timed and verified
 *   bsb-bench rusage OUTPUT COMMAND [ARG…]
 *                               runs COMMAND, then writes its CPU seconds
 *                               and peak RSS (wait4) to OUTPUT; exits with
 *                               COMMAND's status
 *
 * A measurement prints one line on stdout,
 *   RUN name=… ok=1 streams=… bytes=… seconds=… mib_s=… cpu_s=…
 *       cpu_s_per_gib=… cpu_pct=… peak_rss_kib=…
 * (-1 where a figure is unknown) and exits 0; a failure, a transfer whose
 * bytes do not verify included, prints ok=0 and the reason on stderr and
 * exits 1. Data flow: options → XMPP logins → bsb_batch_run() (or
 * bsb_socat_run()) under a /proc watch of the server → the RUN line.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bsb-batch.h"
#include "bsb-conn.h"
#include "bsb-net.h"
#include "bsb-procstat.h"
#include "bsb-socat.h"
#include "bsb-stream.h"
#include "bsb-upload.h"
#include "bsb-xmpp.h"

#define BSB_GIB (1024.0 * 1024.0 * 1024.0)
#define BSB_MIB (1024.0 * 1024.0)

typedef struct
{
  char *name;
  char *c2s;
  char *domain;
  char *proxy_jid;
  char *socks5;
  char *initiator;
  char *target;
  char *pair;
  char *size;
  int streams;
  gint64 seed;
  char *buffer;
  gboolean no_part_length;
  int timeout;
  int server_pid;
  char *socat;
  int socat_buffer;
  int count;
  char *address;
  char *output;
  char *ca_file;
} BsbOptions;

static void
bsb_options_clear (BsbOptions *o)
{
  g_free (o->name);
  g_free (o->c2s);
  g_free (o->domain);
  g_free (o->proxy_jid);
  g_free (o->socks5);
  g_free (o->initiator);
  g_free (o->target);
  g_free (o->pair);
  g_free (o->size);
  g_free (o->buffer);
  g_free (o->socat);
  g_free (o->address);
  g_free (o->output);
  g_free (o->ca_file);
}

/* "1073741824", "64M", "1G", "256K" (binary units). */
static gboolean
bsb_parse_size (const char *text, guint64 *out, GError **error)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL || !g_ascii_isdigit (*text))
    goto bad;
  v = g_ascii_strtoull (text, &end, 10);
  switch (g_ascii_toupper (*end))
    {
    case '\0': break;
    case 'K':
      v <<= 10;
      end++;
      break;
    case 'M':
      v <<= 20;
      end++;
      break;
    case 'G':
      v <<= 30;
      end++;
      break;
    default: goto bad;
    }
  if (*end != '\0' && g_ascii_strcasecmp (end, "iB") != 0)
    goto bad;
  *out = v;
  return TRUE;

bad:
  g_set_error (error, BSB_ERROR, BSB_ERROR_USAGE, "\"%s\" is not a size", text ? text : "");
  return FALSE;
}

static gboolean
bsb_parse_account (const char *spec, char **user, char **password, GError **error)
{
  const char *colon = spec ? strchr (spec, ':') : NULL;

  if (colon == NULL || colon == spec)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_USAGE, "\"%s\" is not USER:PASSWORD",
                   spec ? spec : "");
      return FALSE;
    }
  *user = g_strndup (spec, colon - spec);
  *password = g_strdup (colon + 1);
  return TRUE;
}

static gboolean
bsb_parse_pair (const char *pair, BsbSide *initiator, BsbSide *target, GError **error)
{
  static const struct
  {
    const char *name;
    BsbSide initiator, target;
  } pairs[] = {
    { "socks5-socks5", BSB_SIDE_SOCKS5, BSB_SIDE_SOCKS5 },
    { "http-socks5", BSB_SIDE_HTTP, BSB_SIDE_SOCKS5 },
    { "socks5-http", BSB_SIDE_SOCKS5, BSB_SIDE_HTTP },
    { "http-http", BSB_SIDE_HTTP, BSB_SIDE_HTTP },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    if (g_strcmp0 (pair, pairs[i].name) == 0)
      {
        *initiator = pairs[i].initiator;
        *target = pairs[i].target;
        return TRUE;
      }
  g_set_error (error, BSB_ERROR, BSB_ERROR_USAGE,
               "--pair is one of socks5-socks5, http-socks5, socks5-http, http-http");
  return FALSE;
}

static void
bsb_print_run (const char *name, gboolean ok, guint streams, guint64 bytes, double seconds,
               double cpu_s, gint64 rss_kib)
{
  double mib_s = ok && seconds > 0 ? bytes / BSB_MIB / seconds : -1;
  double per_gib = ok && cpu_s >= 0 && bytes > 0 ? cpu_s / (bytes / BSB_GIB) : -1;
  double pct = ok && cpu_s >= 0 && seconds > 0 ? 100.0 * cpu_s / seconds : -1;

  printf ("RUN name=%s ok=%d streams=%u bytes=%" G_GUINT64_FORMAT
          " seconds=%.4f mib_s=%.1f cpu_s=%.3f cpu_s_per_gib=%.3f cpu_pct=%.1f"
          " peak_rss_kib=%" G_GINT64_FORMAT "\n",
          name, ok ? 1 : 0, streams, ok ? bytes : 0, ok ? seconds : -1.0, mib_s, cpu_s, per_gib,
          pct, rss_kib);
  fflush (stdout);
}

static int
bsb_mode_relay (BsbOptions *o, GError **error)
{
  g_autofree char *c2s_host = NULL;
  g_autofree char *socks5_host = NULL;
  g_autofree char *iuser = NULL;
  g_autofree char *ipass = NULL;
  g_autofree char *tuser = NULL;
  g_autofree char *tpass = NULL;
  g_autofree char *tag = NULL;
  g_autoptr (BsbXmpp) initiator = NULL;
  g_autoptr (BsbXmpp) target = NULL;
  BsbBatchConfig config = { 0 };
  BsbBatchResult result = { 0 };
  BsbProcWatch *watch = NULL;
  guint16 c2s_port = 0;
  guint64 buf_size = 0;
  double cpu_s = -1;
  gint64 rss = -1;
  gboolean ok;

  if (!bsb_net_parse_address (o->c2s, &c2s_host, &c2s_port, error)
      || !bsb_parse_pair (o->pair ? o->pair : "socks5-socks5", &config.initiator_side,
                          &config.target_side, error)
      || !bsb_parse_size (o->size ? o->size : "1G", &config.size, error)
      || !bsb_parse_size (o->buffer ? o->buffer : "256K", &buf_size, error)
      || !bsb_parse_account (o->initiator ? o->initiator : "alice:pw", &iuser, &ipass, error)
      || !bsb_parse_account (o->target ? o->target : "bob:pw", &tuser, &tpass, error))
    return 2;
  if ((config.initiator_side == BSB_SIDE_SOCKS5 || config.target_side == BSB_SIDE_SOCKS5)
      && !bsb_net_parse_address (o->socks5, &socks5_host, &config.socks5_port, error))
    return 2;
  if (o->streams < 1 || o->streams > 4096 || buf_size < 4096 || buf_size > (64 << 20))
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_USAGE,
                           "--streams is 1 to 4096, --buffer 4K to 64M");
      return 2;
    }

  initiator = bsb_xmpp_login (c2s_host, c2s_port, o->domain, iuser, ipass, "bench-i", 30, error);
  if (initiator == NULL)
    return 1;
  target = bsb_xmpp_login (c2s_host, c2s_port, o->domain, tuser, tpass, "bench-t", 30, error);
  if (target == NULL)
    return 1;

  tag = g_strdup_printf ("%d-%" G_GINT64_FORMAT, (int) getpid (), g_get_real_time ());
  config.proxy_jid = o->proxy_jid;
  config.socks5_host = socks5_host;
  config.streams = (guint) o->streams;
  config.seed = (guint64) o->seed;
  config.buf_size = (gsize) buf_size;
  config.part_length = !o->no_part_length;
  config.timeout_s = o->timeout;
  config.tag = tag;

  if (o->server_pid > 0)
    watch = bsb_proc_watch_start ((pid_t) o->server_pid);
  ok = bsb_batch_run (&config, initiator, target, &result, error);
  if (watch != NULL)
    bsb_proc_watch_stop (watch, &cpu_s, &rss);
  bsb_print_run (o->name, ok, config.streams, result.bytes, result.seconds, cpu_s, rss);
  return ok ? 0 : 1;
}

static int
bsb_mode_upload (BsbOptions *o, GError **error)
{
  g_autofree char *c2s_host = NULL;
  g_autofree char *user = NULL;
  g_autofree char *pass = NULL;
  g_autoptr (BsbXmpp) xmpp = NULL;
  BsbUploadResult result = { 0 };
  BsbProcWatch *watch = NULL;
  guint16 c2s_port = 0;
  guint64 size = 0, buf_size = 0;
  double cpu_s = -1;
  gint64 rss = -1;
  gboolean ok;

  if (!bsb_net_parse_address (o->c2s, &c2s_host, &c2s_port, error)
      || !bsb_parse_size (o->size ? o->size : "1G", &size, error)
      || !bsb_parse_size (o->buffer ? o->buffer : "256K", &buf_size, error)
      || !bsb_parse_account (o->initiator ? o->initiator : "alice:pw", &user, &pass, error))
    return 2;
  if (buf_size < 4096 || buf_size > (64 << 20))
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_USAGE, "--buffer is 4K to 64M");
      return 2;
    }
  xmpp = bsb_xmpp_login (c2s_host, c2s_port, o->domain, user, pass, "bench-u", 30, error);
  if (xmpp == NULL)
    return 1;
  if (o->server_pid > 0)
    watch = bsb_proc_watch_start ((pid_t) o->server_pid);
  ok = bsb_upload_run (xmpp, o->domain, size, (guint64) o->seed, (gsize) buf_size, o->timeout,
                       &result, error);
  if (watch != NULL)
    bsb_proc_watch_stop (watch, &cpu_s, &rss);
  bsb_print_run (o->name, ok, 1, result.bytes, result.seconds, cpu_s, rss);
  return ok ? 0 : 1;
}

/* rusage OUTPUT COMMAND [ARG…]: what COMMAND cost, from wait4(). */
static int
bsb_mode_rusage (int argc, char **argv)
{
  struct rusage ru;
  int wstatus = 0;
  pid_t pid, got;
  FILE *fp;

  if (argc < 2)
    {
      fprintf (stderr, "bsb-bench rusage: OUTPUT COMMAND [ARG…]\n");
      return 2;
    }
  pid = fork ();
  if (pid < 0)
    {
      fprintf (stderr, "bsb-bench rusage: fork: %s\n", g_strerror (errno));
      return 127;
    }
  if (pid == 0)
    {
      execvp (argv[1], argv + 1);
      fprintf (stderr, "bsb-bench rusage: %s: %s\n", argv[1], g_strerror (errno));
      _exit (127);
    }
  do
    got = wait4 (pid, &wstatus, 0, &ru);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    {
      fprintf (stderr, "bsb-bench rusage: wait4: %s\n", g_strerror (errno));
      return 127;
    }
  fp = fopen (argv[0], "w");
  if (fp != NULL)
    {
      fprintf (fp, "cpu_s=%.3f peak_rss_kib=%ld\n",
               ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
                   + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
               ru.ru_maxrss);
      fclose (fp);
    }
  else
    fprintf (stderr, "bsb-bench rusage: %s: %s\n", argv[0], g_strerror (errno));
  if (WIFSIGNALED (wstatus))
    return 128 + WTERMSIG (wstatus);
  return WEXITSTATUS (wstatus);
}

static int
bsb_mode_socat (BsbOptions *o, GError **error)
{
  BsbSocatResult result = { 0 };
  guint64 size = 0, buf_size = 0;
  gboolean ok;

  if (!bsb_parse_size (o->size ? o->size : "1G", &size, error)
      || !bsb_parse_size (o->buffer ? o->buffer : "256K", &buf_size, error))
    return 2;
  ok = bsb_socat_run (o->socat ? o->socat : "socat", (gsize) o->socat_buffer, size,
                      (guint64) o->seed, (gsize) buf_size, o->timeout, &result, error);
  bsb_print_run (o->name, ok, 1, result.bytes, result.seconds, ok ? result.cpu_seconds : -1,
                 ok ? result.peak_rss_kib : -1);
  return ok ? 0 : 1;
}

static int
bsb_mode_ports (BsbOptions *o, GError **error)
{
  g_autoptr (GArray) ports = bsb_net_free_ports ((guint) CLAMP (o->count, 1, 64), error);

  if (ports == NULL)
    return 1;
  for (guint i = 0; i < ports->len; i++)
    printf ("%u\n", g_array_index (ports, guint16, i));
  return 0;
}

/* Writes the stream to a file, for the end-to-end figure's sender. */
static int
bsb_mode_file (BsbOptions *o, GError **error)
{
  g_autofree guint8 *buf = NULL;
  guint64 size = 0, buf_size = 0;
  gboolean ok = TRUE;
  FILE *fp;

  if (!bsb_parse_size (o->size ? o->size : "1G", &size, error)
      || !bsb_parse_size (o->buffer ? o->buffer : "256K", &buf_size, error))
    return 2;
  if (o->output == NULL)
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_USAGE, "file: --output is required");
      return 2;
    }
  fp = fopen (o->output, "wb");
  if (fp == NULL)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "%s: %s", o->output, g_strerror (errno));
      return 1;
    }
  buf = g_malloc (buf_size);
  for (guint64 off = 0; off < size && ok;)
    {
      gsize n = (gsize) MIN (buf_size, size - off);
      bsb_stream_fill ((guint64) o->seed, off, buf, n);
      ok = fwrite (buf, 1, n, fp) == n;
      off += n;
    }
  if (fclose (fp) != 0 || !ok)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "writing %s failed", o->output);
      return 1;
    }
  return 0;
}

/* Prefixes each line of stdin with the monotonic clock in microseconds,
 * so that events of different processes can be put on one time line. */
static int
bsb_mode_stamp (BsbOptions *o, GError **error)
{
  char line[8192];

  while (fgets (line, sizeof line, stdin) != NULL)
    {
      printf ("%" G_GINT64_FORMAT " %s", g_get_monotonic_time (), line);
      if (strchr (line, '\n') == NULL)
        putchar ('\n');
      fflush (stdout);
    }
  return 0;
}

static int
bsb_mode_wait (BsbOptions *o, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  int fd;

  if (!bsb_net_parse_address (o->address, &host, &port, error))
    return 2;
  fd = bsb_net_connect_retry (host, port, 5, o->timeout * 1000, error);
  if (fd < 0)
    return 1;
  close (fd);
  return 0;
}

int
main (int argc, char **argv)
{
  BsbOptions o = { 0 };
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &o.name, "Label of the RUN line", "NAME" },
    { "c2s", 0, 0, G_OPTION_ARG_STRING, &o.c2s, "relay: the XMPP server's client port",
      "HOST:PORT" },
    { "domain", 0, 0, G_OPTION_ARG_STRING, &o.domain, "relay: XMPP domain (localhost)", "DOMAIN" },
    { "proxy-jid", 0, 0, G_OPTION_ARG_STRING, &o.proxy_jid,
      "relay: JID of the bytestreams proxy (proxy.DOMAIN)", "JID" },
    { "socks5", 0, 0, G_OPTION_ARG_STRING, &o.socks5, "relay: the proxy's SOCKS5 port",
      "HOST:PORT" },
    { "initiator", 0, 0, G_OPTION_ARG_STRING, &o.initiator,
      "relay: the sender's account (alice:pw)", "USER:PASSWORD" },
    { "target", 0, 0, G_OPTION_ARG_STRING, &o.target, "relay: the receiver's account (bob:pw)",
      "USER:PASSWORD" },
    { "pair", 0, 0, G_OPTION_ARG_STRING, &o.pair,
      "relay: socks5-socks5 (default), http-socks5, socks5-http or http-http "
      "(sender-receiver)",
      "PAIR" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &o.size, "Bytes per transfer, K/M/G suffixes (1G)",
      "SIZE" },
    { "streams", 0, 0, G_OPTION_ARG_INT, &o.streams, "relay: simultaneous transfers (1)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Seed of the data; transfer i uses seed + i",
      "N" },
    { "buffer", 0, 0, G_OPTION_ARG_STRING, &o.buffer, "Client buffer per socket (256K)", "SIZE" },
    { "no-part-length", 0, 0, G_OPTION_ARG_NONE, &o.no_part_length,
      "relay: no Content-Length of the FILE part's own (the plugin always gives one)", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &o.timeout, "Seconds before giving up (600; wait: 10)",
      "SECONDS" },
    { "server-pid", 0, 0, G_OPTION_ARG_INT, &o.server_pid,
      "relay: the proxy process, for its CPU time and peak RSS", "PID" },
    { "socat", 0, 0, G_OPTION_ARG_FILENAME, &o.socat, "socat: the program (socat)", "PATH" },
    { "socat-buffer", 0, 0, G_OPTION_ARG_INT, &o.socat_buffer, "socat: its -b (131072)", "BYTES" },
    { "count", 0, 0, G_OPTION_ARG_INT, &o.count, "ports: how many (1)", "N" },
    { "address", 0, 0, G_OPTION_ARG_STRING, &o.address, "wait: where", "HOST:PORT" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &o.output, "file: the file to write", "PATH" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ca_file,
      "relay, upload: trust these CA certificates (PEM) for https:// URLs", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context
      = g_option_context_new ("relay|socat|ports|wait|file|stamp|upload");
  g_autoptr (GError) error = NULL;
  const char *mode;
  int status;

  /* rusage takes a command line of its own, untouched. */
  if (argc >= 2 && g_str_equal (argv[1], "rusage"))
    return bsb_mode_rusage (argc - 2, argv + 2);
  o.streams = 1;
  o.seed = 1;
  o.timeout = -1;
  o.socat_buffer = 131072;
  o.count = 1;
  g_option_context_set_summary (context,
                                "The benchmark client of pidgin-bsproxy: moves pseudo-random "
                                "data through a proxy, checks every byte, prints one RUN line.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "bsb-bench: %s\n", error ? error->message : "one MODE, see --help");
      bsb_options_clear (&o);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  mode = argv[1];
  if (o.name == NULL)
    o.name = g_strdup (mode);
  if (o.domain == NULL)
    o.domain = g_strdup ("localhost");
  if (o.proxy_jid == NULL)
    o.proxy_jid = g_strdup_printf ("proxy.%s", o.domain);
  if (o.timeout < 0)
    o.timeout = g_str_equal (mode, "wait") ? 10 : 600;
  if (o.ca_file != NULL && !bsb_conn_set_ca_file (o.ca_file, &error))
    {
      fprintf (stderr, "bsb-bench: --ca-file: %s\n", error->message);
      bsb_options_clear (&o);
      return 2;
    }

  if (g_str_equal (mode, "relay"))
    status = bsb_mode_relay (&o, &error);
  else if (g_str_equal (mode, "socat"))
    status = bsb_mode_socat (&o, &error);
  else if (g_str_equal (mode, "ports"))
    status = bsb_mode_ports (&o, &error);
  else if (g_str_equal (mode, "wait"))
    status = bsb_mode_wait (&o, &error);
  else if (g_str_equal (mode, "file"))
    status = bsb_mode_file (&o, &error);
  else if (g_str_equal (mode, "stamp"))
    status = bsb_mode_stamp (&o, &error);
  else if (g_str_equal (mode, "upload"))
    status = bsb_mode_upload (&o, &error);
  else
    {
      g_set_error (&error, BSB_ERROR, BSB_ERROR_USAGE, "unknown mode \"%s\"", mode);
      status = 2;
    }
  if (error != NULL)
    fprintf (stderr, "bsb-bench %s: %s\n", o.name, error->message);
  bsb_options_clear (&o);
  return status;
}
