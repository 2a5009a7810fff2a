/* bsb-procstat.c — what a server process cost: CPU time and peak memory, from /proc
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsb-procstat.h"

#define BSB_PROC_SAMPLE_US 10000

double
bsb_proc_cpu_seconds (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  const char *p;
  unsigned long long utime = 0, stime = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  /* The command name may hold spaces and parentheses: fields restart after
   * the last ')'. utime and stime are fields 14 and 15. */
  p = strrchr (text, ')');
  if (p == NULL
      || sscanf (p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime)
             != 2)
    return -1;
  return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

gint64
bsb_proc_status_kib (pid_t pid, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  gsize flen = strlen (field);

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  for (char *line = text; line != NULL && *line != '\0';)
    {
      char *eol = strchr (line, '\n');
      if (strncmp (line, field, flen) == 0 && line[flen] == ':')
        return g_ascii_strtoll (line + flen + 1, NULL, 10);
      line = eol ? eol + 1 : NULL;
    }
  return -1;
}

struct _BsbProcWatch
{
  pid_t pid;
  double cpu_start;
  gboolean hwm_reset;
  gint64 rss_max;
  gint stop;
  GThread *sampler;
};

static gpointer
bsb_proc_watch_sample (gpointer data)
{
  BsbProcWatch *self = data;

  while (!g_atomic_int_get (&self->stop))
    {
      gint64 rss = bsb_proc_status_kib (self->pid, "VmRSS");
      if (rss > self->rss_max)
        self->rss_max = rss;
      g_usleep (BSB_PROC_SAMPLE_US);
    }
  return NULL;
}

BsbProcWatch *
bsb_proc_watch_start (pid_t pid)
{
  BsbProcWatch *self = g_new0 (BsbProcWatch, 1);
  g_autofree char *path = g_strdup_printf ("/proc/%d/clear_refs", (int) pid);

  self->pid = pid;
  self->rss_max = -1;
  /* "5" resets VmHWM to the current RSS (Linux ≥ 4.0). */
  {
    FILE *f = fopen (path, "w");
    if (f != NULL)
      {
        self->hwm_reset = fputs ("5", f) >= 0;
        self->hwm_reset = (fclose (f) == 0) && self->hwm_reset;
      }
  }
  self->cpu_start = bsb_proc_cpu_seconds (pid);
  self->sampler = g_thread_new ("bsb-rss", bsb_proc_watch_sample, self);
  return self;
}

void
bsb_proc_watch_stop (BsbProcWatch *self, double *cpu_seconds, gint64 *peak_rss_kib)
{
  double cpu_end = bsb_proc_cpu_seconds (self->pid);
  gint64 hwm = self->hwm_reset ? bsb_proc_status_kib (self->pid, "VmHWM") : -1;

  g_atomic_int_set (&self->stop, 1);
  g_thread_join (self->sampler);
  *cpu_seconds = (self->cpu_start >= 0 && cpu_end >= 0) ? cpu_end - self->cpu_start : -1;
  *peak_rss_kib = MAX (hwm, self->rss_max);
  g_free (self);
}
