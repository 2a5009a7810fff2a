/* pts-test-tls.h — a throwaway certificate authority for the TLS tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-test-util.h"

G_BEGIN_DECLS

typedef struct
{
  char *dir;  /* a fresh temporary directory holding the files below */
  char *ca;   /* the CA's certificate (PEM): what a client trusts */
  char *cert; /* the server's, signed by the CA, for localhost and 127.0.0.1 */
  char *key;  /* its private key */
} PtsTestCertificates;

/* Makes a CA and a server certificate (EC P-256, valid one day) with
 * openssl at run time; FALSE with @error set when openssl is missing or
 * fails. */
gboolean pts_test_certificates_make (PtsTestCertificates *certs, GError **error);
/* The same for other names (subjectAltName syntax, e.g. "DNS:localhost"). */
gboolean pts_test_certificates_make_for (PtsTestCertificates *certs, const char *names,
                                         GError **error);
/* Deletes the files and frees the paths. */
void pts_test_certificates_clear (PtsTestCertificates *certs);

/* A client stream to @domain through `openssl s_client -starttls xmpp`
 * over a socket pair: s_client does the first stream and the handshake
 * (trusting only @ca_file, for @domain; NULL: no check), this opens the
 * stream restarted over TLS and waits for its features. The TLS client
 * stays out of this process (see pts_test_tls_sanitizer_env()). */
PtsTestClient *pts_test_client_connect_starttls (const char *host, guint16 port, const char *domain,
                                                 const char *ca_file, GError **error);

/* For a server under test that speaks TLS, set before starting it: under
 * AddressSanitizer, LeakSanitizer's tracer crashes at exit beside
 * glib-networking's TLS worker threads, and whole-stack unwinding at every
 * allocation makes TLS crawl. The rest of AddressSanitizer stays on. */
void pts_test_tls_sanitizer_env (void);
/* The same for the next processes only: returns what to give
 * pts_test_tls_sanitizer_env_restore () once they started (e.g. the server,
 * not the libpurple drivers, whose leaks stay checked). */
char *pts_test_tls_sanitizer_env_push (void);
void pts_test_tls_sanitizer_env_restore (char *saved);

G_END_DECLS
