/* pts-secret.h — capability tokens from the kernel's random source, compared in constant time
 *
 * Everything that grants access (upload tokens, download ids) comes from
 * getrandom(2), never from GLib's generator, which also makes public values
 * such as stream ids and resources (PROTOCOL.md §8).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes of randomness in a token: 192 bits, 32 URL-safe characters. */
#define PTS_SECRET_BYTES 24

/* A new token: PTS_SECRET_BYTES from getrandom(2), base64url without
 * padding (A–Z a–z 0–9 - _). Never fails: if the kernel cannot give
 * randomness, the process aborts rather than hand out a weak token. */
char *pts_secret_token_new (void);

/* The key under which a token is stored and looked up: its SHA-256 in hex.
 * Looking tables up by this, not by the token, means that how long a
 * lookup takes says nothing about the token's characters. */
char *pts_secret_token_key (const char *token);

/* TRUE when @a (@a_len bytes) equals @b (@b_len), in a time that depends
 * on neither content nor where they differ (both are hashed first, so not
 * on their lengths either). */
gboolean pts_secret_equal (const void *a, gsize a_len, const void *b, gsize b_len);

G_END_DECLS
