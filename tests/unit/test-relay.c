/* test-relay.c — the relay's buffer and end-of-transfer rules, with endpoints that do no I/O
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "pts-relay.h"

typedef struct
{
  PtsEndpoint parent;
  guint wakes;
  gboolean finished;
  GError *error; /* what finish() said */
  gboolean *freed;
} FakeEndpoint;

static void
fake_wake (PtsEndpoint *ep)
{
  ((FakeEndpoint *) ep)->wakes++;
}

static void
fake_finish (PtsEndpoint *ep, const GError *error)
{
  FakeEndpoint *self = (FakeEndpoint *) ep;

  g_assert_false (self->finished);
  self->finished = TRUE;
  self->error = error ? g_error_copy (error) : NULL;
}

static void
fake_free (PtsEndpoint *ep)
{
  FakeEndpoint *self = (FakeEndpoint *) ep;

  *self->freed = TRUE;
  g_clear_error (&self->error);
  g_free (self);
}

static const PtsEndpointClass fake_class = { "fake", fake_wake, fake_finish, fake_free };

typedef struct
{
  PtsRelay *relay;
  FakeEndpoint *source;
  FakeEndpoint *sink;
  gboolean source_freed, sink_freed;
  gboolean done;
  GError *error; /* the done callback's */
} Fixture;

static void
relay_done (PtsRelay *relay, const GError *error, gpointer user_data)
{
  Fixture *f = user_data;

  f->done = TRUE;
  f->error = error ? g_error_copy (error) : NULL;
}

static void
fixture_init (Fixture *f, gsize capacity)
{
  memset (f, 0, sizeof *f);
  f->source = g_new0 (FakeEndpoint, 1);
  f->source->parent.klass = &fake_class;
  f->source->freed = &f->source_freed;
  f->sink = g_new0 (FakeEndpoint, 1);
  f->sink->parent.klass = &fake_class;
  f->sink->freed = &f->sink_freed;
  f->relay = pts_relay_new (capacity, &f->source->parent, &f->sink->parent, relay_done, f);
}

/* Runs the main loop until the relay reported its end (bounded). */
static void
fixture_wait_done (Fixture *f)
{
  for (guint i = 0; i < 1000 && !f->done; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (f->done);
  /* Both endpoints were told the same, then freed. */
  g_assert_true (f->source_freed);
  g_assert_true (f->sink_freed);
}

static void
fixture_clear (Fixture *f)
{
  pts_relay_free (f->relay);
  g_clear_error (&f->error);
}

/* Reads everything buffered, as a sink would. */
static GString *
drain (Fixture *f, GString *out)
{
  gsize avail;
  const guint8 *ptr;

  while ((ptr = pts_relay_read_ptr (f->relay, &avail), avail > 0))
    {
      g_string_append_len (out, (const char *) ptr, avail);
      pts_relay_consume (f->relay, avail);
    }
  return out;
}

static void
test_backpressure (void)
{
  Fixture f;
  g_autoptr (GString) got = g_string_new (NULL);
  guint8 data[100];
  guint sink_wakes;

  g_test_summary ("The buffer takes no more than its capacity, wraps around, wakes the sink "
                  "when data comes and the source when room comes back; the bytes come out "
                  "in order.");
  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) i;
  fixture_init (&f, 64);
  pts_relay_start (f.relay);
  sink_wakes = f.sink->wakes;
  g_assert_cmpuint (pts_relay_push (f.relay, data, 40), ==, 40);
  g_assert_cmpuint (f.sink->wakes, ==, sink_wakes + 1);
  g_assert_cmpuint (pts_relay_push (f.relay, data + 40, 60), ==, 24); /* full at 64 */
  g_assert_cmpuint (pts_relay_space (f.relay), ==, 0);
  drain (&f, got);
  g_assert_cmpuint (f.source->wakes, >=, 2); /* start, then room again */
  g_assert_cmpuint (pts_relay_push (f.relay, data + 64, 36), ==, 36);
  drain (&f, got);
  g_assert_cmpmem (got->str, got->len, data, sizeof data);
  g_assert_cmpuint (pts_relay_bytes_in (f.relay), ==, 100);
  g_assert_cmpuint (pts_relay_bytes_out (f.relay), ==, 100);
  pts_relay_source_done (f.relay);
  pts_relay_sink_done (f.relay);
  fixture_wait_done (&f);
  g_assert_no_error (f.error);
  fixture_clear (&f);
}

static void
test_pipe_after_ring (void)
{
  Fixture f;
  g_autoptr (GString) got = g_string_new (NULL);
  guint8 data[40], out[40];
  guint source_wakes;
  gsize space, avail;
  int in, from;

  g_test_summary ("Once both ends are sockets the relay takes a pipe, but only once its ring "
                  "is empty: until then the ring takes nothing more (else a fast sender "
                  "would keep it from ever emptying), and the source is woken when the pipe "
                  "is there; bytes keep their order across the switch.");
  memset (data, 'r', sizeof data);
  fixture_init (&f, 64 * 1024);
  pts_relay_allow_splice (f.relay, TRUE, NULL);
  pts_relay_start (f.relay);
  g_assert_cmpuint (pts_relay_push (f.relay, data, sizeof data), ==, sizeof data);
  pts_relay_source_became_socket (f.relay);
  g_assert_cmpstr (pts_relay_mode (f.relay), ==, "copy"); /* the sink is not a socket yet */
  g_assert_cmpuint (pts_relay_space (f.relay), >, 0);
  g_assert_false (pts_relay_sink_became_socket (f.relay)); /* stays: its source is no SOCKS5 */
  g_assert_cmpstr (pts_relay_mode (f.relay), ==, "copy");
  g_assert_cmpuint (pts_relay_space (f.relay), ==, 0);
  g_assert_cmpuint (pts_relay_push (f.relay, data, sizeof data), ==, 0);
  source_wakes = f.source->wakes;
  drain (&f, got);
  g_assert_cmpuint (got->len, ==, sizeof data);
  g_assert_cmpstr (pts_relay_mode (f.relay), ==, "splice");
  g_assert_cmpuint (f.source->wakes, ==, source_wakes + 1);

  /* Through the pipe now, as a socket source and sink would. */
  memset (data, 'p', sizeof data);
  in = pts_relay_pipe_in (f.relay, &space);
  g_assert_cmpint (in, >=, 0);
  g_assert_cmpuint (space, >=, sizeof data);
  g_assert_cmpint (write (in, data, sizeof data), ==, sizeof data);
  pts_relay_commit (f.relay, sizeof data);
  from = pts_relay_pipe_out (f.relay, &avail);
  g_assert_cmpint (from, >=, 0);
  g_assert_cmpuint (avail, ==, sizeof data);
  g_assert_cmpint (read (from, out, sizeof out), ==, sizeof out);
  pts_relay_consume (f.relay, sizeof out);
  g_assert_cmpmem (out, sizeof out, data, sizeof data);
  g_assert_cmpuint (pts_relay_bytes_out (f.relay), ==, 2 * sizeof data);
  pts_relay_source_done (f.relay);
  pts_relay_sink_done (f.relay);
  fixture_wait_done (&f);
  g_assert_no_error (f.error);
  fixture_clear (&f);
}

typedef enum
{
  END_OK,            /* source done, sink done */
  END_SHORT,         /* fewer bytes than expected */
  END_LONG,          /* more bytes than expected */
  END_SIZE_MISMATCH, /* the source announces another size */
  END_SINK_EARLY,    /* the sink finished, then the source sent more */
  END_FAIL,          /* an endpoint failed */
} EndKind;

typedef struct
{
  const char *path;
  EndKind kind;
  gint64 expected;
  int error; /* PtsRelayError, or -1 */
} EndCase;

static const EndCase end_cases[] = {
  { "/unit/relay/end/ok", END_OK, -1, -1 },
  { "/unit/relay/end/ok-expected", END_OK, 10, -1 },
  { "/unit/relay/end/short", END_SHORT, 10, PTS_RELAY_ERROR_SHORT },
  { "/unit/relay/end/long", END_LONG, 10, PTS_RELAY_ERROR_BAD_INPUT },
  { "/unit/relay/end/size-mismatch", END_SIZE_MISMATCH, 10, PTS_RELAY_ERROR_BAD_INPUT },
  { "/unit/relay/end/sink-early", END_SINK_EARLY, -1, PTS_RELAY_ERROR_RECEIVER_GONE },
  { "/unit/relay/end/fail", END_FAIL, -1, PTS_RELAY_ERROR_TIMEOUT },
};

static void
test_end (gconstpointer data)
{
  const EndCase *tc = data;
  Fixture f;
  g_autoptr (GString) got = g_string_new (NULL);
  const guint8 bytes[16] = "0123456789abcdef";
  gint64 size = 0;

  fixture_init (&f, 64);
  pts_relay_expect_size (f.relay, tc->expected);
  pts_relay_start (f.relay);
  switch (tc->kind)
    {
    case END_OK:
      pts_relay_set_file_info (f.relay, -1, "name");
      g_assert_true (pts_relay_get_file_info (f.relay, &size, NULL));
      g_assert_cmpint (size, ==, tc->expected); /* the receiver's size stands in */
      pts_relay_push (f.relay, bytes, 10);
      pts_relay_source_done (f.relay);
      drain (&f, got);
      pts_relay_sink_done (f.relay);
      break;
    case END_SHORT:
      pts_relay_push (f.relay, bytes, 4);
      pts_relay_source_done (f.relay);
      break;
    case END_LONG:
      /* The receiver gets exactly what it expects, then the transfer
       * fails on the sender's account. */
      pts_relay_push (f.relay, bytes, 11);
      pts_relay_push (f.relay, bytes, 5);
      drain (&f, got);
      g_assert_cmpmem (got->str, got->len, bytes, 10);
      pts_relay_sink_done (f.relay);
      break;
    case END_SIZE_MISMATCH: pts_relay_set_file_info (f.relay, 11, "name"); break;
    case END_SINK_EARLY:
      pts_relay_push (f.relay, bytes, 4);
      drain (&f, got);
      pts_relay_sink_done (f.relay);
      pts_relay_push (f.relay, bytes, 4);
      break;
    case END_FAIL:
      {
        g_autoptr (GError) error
            = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_TIMEOUT, "no data");
        pts_relay_fail (f.relay, error);
        /* A second end changes nothing. */
        pts_relay_source_done (f.relay);
        break;
      }
    }
  fixture_wait_done (&f);
  if (tc->error < 0)
    g_assert_no_error (f.error);
  else
    g_assert_error (f.error, PTS_RELAY_ERROR, tc->error);
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unit/relay/backpressure", test_backpressure);
  g_test_add_func ("/unit/relay/pipe-after-ring", test_pipe_after_ring);
  for (guint i = 0; i < G_N_ELEMENTS (end_cases); i++)
    g_test_add_data_func (end_cases[i].path, &end_cases[i], test_end);
  return g_test_run ();
}
