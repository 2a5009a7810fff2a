/* pts-test-tls.c — a throwaway certificate authority for the TLS tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pts-test-tls.h"
#include "pts-test-util.h"

#define PTS_TEST_TUNNEL_EXIT_MS 5000

static gboolean
pts_test_openssl (GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *err = NULL;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "openssl");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, error))
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "openssl %s failed: %s", first, err);
      return FALSE;
    }
  return TRUE;
}

static const char *const pts_test_tls_files[]
    = { "ca.pem", "ca.key", "cert.pem", "key.pem", "cert.csr", "ext.cnf" };

gboolean
pts_test_certificates_make (PtsTestCertificates *c, GError **error)
{
  return pts_test_certificates_make_for (c, "DNS:localhost,IP:127.0.0.1", error);
}

gboolean
pts_test_certificates_make_for (PtsTestCertificates *c, const char *names, GError **error)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *ca_key = NULL, *csr = NULL, *ext = NULL, *ext_text = NULL;

  memset (c, 0, sizeof *c);
  if (openssl == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "openssl is not installed (tests/install-deps.sh installs it)");
      return FALSE;
    }
  c->dir = g_dir_make_tmp ("pts-ca-XXXXXX", error);
  if (c->dir == NULL)
    return FALSE;
  c->ca = g_build_filename (c->dir, "ca.pem", NULL);
  c->cert = g_build_filename (c->dir, "cert.pem", NULL);
  c->key = g_build_filename (c->dir, "key.pem", NULL);
  ca_key = g_build_filename (c->dir, "ca.key", NULL);
  csr = g_build_filename (c->dir, "cert.csr", NULL);
  ext = g_build_filename (c->dir, "ext.cnf", NULL);
  ext_text = g_strdup_printf ("subjectAltName=%s\n"
                              "basicConstraints=critical,CA:FALSE\n"
                              "extendedKeyUsage=serverAuth\n",
                              names);
  return g_file_set_contents (ext, ext_text, -1, error)
         && pts_test_openssl (error, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                              "/CN=bsproxy test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                              "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca_key,
                              "-out", c->ca, NULL)
         && pts_test_openssl (error, "req", "-new", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
                              "-keyout", c->key, "-out", csr, NULL)
         && pts_test_openssl (error, "x509", "-req", "-in", csr, "-CA", c->ca, "-CAkey", ca_key,
                              "-set_serial", "2", "-days", "1", "-extfile", ext, "-out", c->cert,
                              NULL);
}

void
pts_test_certificates_clear (PtsTestCertificates *c)
{
  if (c->dir == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (pts_test_tls_files); i++)
    {
      g_autofree char *path = g_build_filename (c->dir, pts_test_tls_files[i], NULL);
      g_unlink (path);
    }
  g_rmdir (c->dir);
  g_clear_pointer (&c->dir, g_free);
  g_clear_pointer (&c->ca, g_free);
  g_clear_pointer (&c->cert, g_free);
  g_clear_pointer (&c->key, g_free);
}

void
pts_test_tls_sanitizer_env (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_setenv ("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1:fast_unwind_on_malloc=1", TRUE);
#endif
}

static void
pts_test_tunnel_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
pts_test_tunnel_expired (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The client's end is closed: s_client (-no_ign_eof) ends its TLS session
 * and exits; one that does not within PTS_TEST_TUNNEL_EXIT_MS is killed. */
static void
pts_test_tunnel_end (gpointer data)
{
  g_autoptr (GSubprocess) proc = data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) timer = g_timeout_source_new (PTS_TEST_TUNNEL_EXIT_MS);
  gboolean exited = FALSE, expired = FALSE;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (proc, NULL, pts_test_tunnel_waited, &exited);
  g_source_set_callback (timer, pts_test_tunnel_expired, &expired, NULL);
  g_source_attach (timer, context);
  while (!exited && !expired)
    g_main_context_iteration (context, TRUE);
  if (!exited)
    g_subprocess_force_exit (proc);
  while (!exited)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_main_context_pop_thread_default (context);
}

PtsTestClient *
pts_test_client_connect_starttls (const char *host, guint16 port, const char *domain,
                                  const char *ca_file, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (PtsTestClient) client = NULL;
  GSubprocess *proc;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "socketpair: %s",
                   g_strerror (errno));
      return NULL;
    }
  launcher = pts_test_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* s_client reads what the client writes from its stdin and writes what
   * the server sends to its stdout: both are the other end of the pair. */
  g_subprocess_launcher_take_stdout_fd (launcher, dup (fds[1]));
  g_subprocess_launcher_take_stdin_fd (launcher, fds[1]);
  for (const char *const *a = (const char *const[]){ "openssl", "s_client", "-quiet", "-no_ign_eof",
                                                     "-starttls", "xmpp", NULL };
       *a != NULL; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, g_strdup ("-xmpphost"));
  g_ptr_array_add (argv, g_strdup (domain));
  g_ptr_array_add (argv, g_strdup ("-connect"));
  g_ptr_array_add (argv, g_strdup_printf ("%s:%u", host, port));
  if (ca_file != NULL)
    {
      /* A certificate the CA did not sign for @domain ends the tunnel. */
      g_ptr_array_add (argv, g_strdup ("-CAfile"));
      g_ptr_array_add (argv, g_strdup (ca_file));
      g_ptr_array_add (argv, g_strdup ("-verify_return_error"));
      g_ptr_array_add (argv, g_strdup ("-verify_hostname"));
      g_ptr_array_add (argv, g_strdup (domain));
    }
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (proc == NULL)
    {
      close (fds[0]);
      return NULL;
    }
  socket = g_socket_new_from_fd (fds[0], error);
  if (socket == NULL)
    {
      close (fds[0]);
      pts_test_tunnel_end (proc);
      return NULL;
    }
  conn = g_socket_connection_factory_create_connection (socket);
  client = pts_test_client_new_for_connection (conn, domain);
  pts_test_client_set_data_full (client, proc, pts_test_tunnel_end);
  /* s_client sent the first header and <starttls/>: this stream is the
   * one restarted over TLS. */
  if (!pts_test_client_open_stream (client, error))
    return NULL;
  return g_steal_pointer (&client);
}

char *
pts_test_tls_sanitizer_env_push (void)
{
  char *saved = g_strdup (g_getenv ("ASAN_OPTIONS"));

  pts_test_tls_sanitizer_env ();
  return saved;
}

void
pts_test_tls_sanitizer_env_restore (char *saved)
{
  if (saved != NULL)
    g_setenv ("ASAN_OPTIONS", saved, TRUE);
  else
    g_unsetenv ("ASAN_OPTIONS");
  g_free (saved);
}
