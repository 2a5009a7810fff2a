/* bsb-procstat.h — what a server process cost: CPU time and peak memory, from /proc
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* user + system CPU seconds of @pid so far, or -1. */
double bsb_proc_cpu_seconds (pid_t pid);

/* A field of /proc/@pid/status in KiB ("VmHWM", "VmRSS"), or -1. */
gint64 bsb_proc_status_kib (pid_t pid, const char *field);

/* Watches one process while a measurement runs: resets its peak RSS
 * (clear_refs) when it can, samples VmRSS every 10 ms in a thread as a
 * fallback, and takes CPU time at both ends. */
typedef struct _BsbProcWatch BsbProcWatch;

BsbProcWatch *bsb_proc_watch_start (pid_t pid);
/* Stops watching; the figures are in the out parameters (-1 unknown). */
void bsb_proc_watch_stop (BsbProcWatch *watch, double *cpu_seconds, gint64 *peak_rss_kib);

G_END_DECLS
