/* pts-test-sanitizer.h — the sanitizer defaults of every test program
 *
 * pts-test-sanitizer.c defines AddressSanitizer's and LeakSanitizer's
 * default hooks; meson compiles it into each program that links
 * pts_test_sanitizer_dep (or pts_test_util_dep), so that the tests take
 * their defaults from this one place. proxy-test-server, a program of its
 * own, keeps its own defaults in pts-main.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whole malloc stacks: LeakSanitizer's suppressions (GLib's one-time
 * allocations, libpurple's by library) must see frames in libraries built
 * without frame pointers, which the fast unwinder cuts off.
 * intercept_tls_get_addr=0: GCC 12's interceptor mistakes some dynamic TLS
 * blocks (modules loaded at run time: GIO's, libpurple's, the plugin's
 * libsoup) for glibc ones, and LeakSanitizer's tracer then dies at exit
 * ("Tracer caught signal 11") in about one run in three of the e2e suite. */
#define PTS_TEST_ASAN_OPTIONS "fast_unwind_on_malloc=0:intercept_tls_get_addr=0"

/* PTS_TEST_ASAN: this program is built with AddressSanitizer (GCC's and
 * clang's ways of saying so), and so are the programs it starts.
 * PTS_TEST_SLOWDOWN: how much more time a test gives a step that must
 * happen before one of its own short timers fires (the sanitizers make
 * the TLS handshakes and the drivers several times slower). */
#if defined(__SANITIZE_ADDRESS__)
#define PTS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTS_TEST_ASAN 1
#endif
#endif
#ifdef PTS_TEST_ASAN
#define PTS_TEST_SLOWDOWN 4
#else
#define PTS_TEST_SLOWDOWN 1
#endif

/* Gives a child started through @launcher PTS_TEST_ASAN_OPTIONS in its
 * ASAN_OPTIONS, flag by flag, unless ASAN_OPTIONS already sets that flag.
 * Does nothing in a build without AddressSanitizer. */
void pts_test_sanitizer_setenv (GSubprocessLauncher *launcher);

G_END_DECLS
