/* bsp-test-cut.h — a loopback TCP forwarder that can reset one HTTP connection
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BspTestCutter BspTestCutter;

/* Listens on a loopback port the kernel picks (*@port). */
BspTestCutter *bsp_test_cutter_new (guint16 *port);
/* Forwards every connection to @target_port on loopback from now on. */
void bsp_test_cutter_start (BspTestCutter *cutter, guint16 target_port);
/* Resets, both ways, every live connection whose request starts with
 * @method ("POST", "GET "); returns how many. */
guint bsp_test_cutter_reset (BspTestCutter *cutter, const char *method);
void bsp_test_cutter_free (BspTestCutter *cutter);

G_END_DECLS
