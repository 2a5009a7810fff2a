/* test-protocol.c — SIDHASH vectors and the JID rules behind them
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "bsp-protocol.h"

/* ---- SIDHASH ----------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *sid;
  const char *initiator;
  const char *target;
  /* Computed outside this program, never with bsp_sidhash ():
   *   printf '%s' "$SID$I$T" | sha1sum
   * with I and T written in their normalised form (node and domain
   * lower-cased, resource unchanged); the exact string hashed is in the
   * comment above each vector. */
  const char *expected;
} SidhashCase;

static const SidhashCase sidhash_cases[] = {
  /* printf '%s' 's5b-1alice@example.com/resbob@example.org/Home' | sha1sum */
  { "plain", "s5b-1", "alice@example.com/res", "bob@example.org/Home",
    "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3" },
  /* Same string as "plain": node and domain are case-insensitive. */
  { "upper-node-domain", "s5b-1", "Alice@EXAMPLE.com/res", "BOB@Example.ORG/Home",
    "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3" },
  /* printf '%s' 's5b-1alice@example.com/RESbob@example.org/Home' | sha1sum */
  { "upper-resource", "s5b-1", "alice@example.com/RES", "bob@example.org/Home",
    "ee6e52143fa4c78f11749770619ebad5d2e25da8" },
  /* XEP-0065's example session.
   * printf '%s' 'vxf9n471bn46requester@example.com/footarget@example.org/bar' | sha1sum */
  { "xep-0065", "vxf9n471bn46", "requester@example.com/foo", "target@example.org/bar",
    "98b8d688d0f5d895fd41c5e7309a2e9e33ba32ff" },
  /* printf '%s' 'alice@example.com/resbob@example.org/Home' | sha1sum */
  { "empty-sid", "", "alice@example.com/res", "bob@example.org/Home",
    "6c096e7c3c2d1df0ea4a55fdeff64847836d5157" },
  /* printf '%s' 'sidexample.com/gatewayproxy.example.net/x' | sha1sum */
  { "domain-jids", "sid", "Example.COM/gateway", "proxy.example.net/x",
    "7fc033438871b39dc60a975129bd380fe1f7adf8" },
  /* Non-ASCII node and domain are lower-cased too, the resource is not.
   * printf '%s' 'sidélise@éxample.com/Téltarget@example.org/bar' | sha1sum */
  { "non-ascii", "sid", "\xc3\x89lise@\xc3\x89xample.com/T\xc3\xa9l", "target@example.org/bar",
    "3c4f12c98c8680a4219be611d39709bdad18417c" },
  /* The resource may hold '@' and '/'.
   * printf '%s' 'sidalice@example.com/a@b/cbob@example.org/x/y' | sha1sum */
  { "resource-separators", "sid", "ALICE@example.com/a@b/c", "bob@example.org/x/y",
    "41a8b675e74c409b5878fadeb4c356eb34eccad4" },
  /* Spaces in the resource are kept as they are.
   * printf '%s' 'sidalice@example.com/ res bob@example.org/Home' | sha1sum */
  { "resource-spaces", "sid", "Alice@Example.com/ res ", "bob@example.org/Home",
    "147270c663e5fb0ca4a86f7d9986acb0fd077faa" },
  /* printf '%s' 'sidalice@example.combob@example.org' | sha1sum */
  { "bare-jids", "sid", "alice@example.com", "bob@EXAMPLE.org",
    "876a5f85cd6fffcbc3ab56a53c29e19376fb33cc" },
};

static void
test_sidhash_vector (gconstpointer data)
{
  const SidhashCase *c = data;
  g_autofree char *hash = bsp_sidhash (c->sid, c->initiator, c->target);

  g_assert_cmpstr (hash, ==, c->expected);
  g_assert_true (bsp_sidhash_is_valid (hash, strlen (hash)));
}

static void
test_sidhash_case_rule (void)
{
  g_autofree char *lower = NULL;
  g_autofree char *upper = NULL;
  g_autofree char *resource = NULL;

  g_test_summary ("Upper-case node and domain give the same SIDHASH as lower-case; an "
                  "upper-case resource gives a different one (PROTOCOL.md §1).");

  lower = bsp_sidhash ("abc", "alice@example.com/Phone", "bob@example.org/Desk");
  upper = bsp_sidhash ("abc", "ALICE@EXAMPLE.COM/Phone", "Bob@Example.Org/Desk");
  resource = bsp_sidhash ("abc", "alice@example.com/PHONE", "bob@example.org/Desk");
  g_assert_cmpstr (lower, ==, upper);
  g_assert_cmpstr (lower, !=, resource);
}

static void
test_sidhash_order (void)
{
  g_autofree char *forward = bsp_sidhash ("sid", "a@x/1", "b@x/2");
  g_autofree char *backward = bsp_sidhash ("sid", "b@x/2", "a@x/1");

  g_test_summary ("Initiator and target are not interchangeable.");
  g_assert_cmpstr (forward, !=, backward);
}

static void
test_sidhash_invalid (void)
{
  g_assert_null (bsp_sidhash (NULL, "a@x/1", "b@x/2"));
  g_assert_null (bsp_sidhash ("sid", NULL, "b@x/2"));
  g_assert_null (bsp_sidhash ("sid", "a@x/1", NULL));
  g_assert_null (bsp_sidhash ("sid", "@x/1", "b@x/2"));
  g_assert_null (bsp_sidhash ("sid", "a@x/1", "b@/2"));
  g_assert_null (bsp_sidhash ("sid", "", "b@x/2"));
}

typedef struct
{
  const char *text;
  gssize len; /* -1: strlen */
  gboolean valid;
} SidhashSyntaxCase;

static const SidhashSyntaxCase sidhash_syntax_cases[] = {
  { "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3", -1, TRUE },
  { "0000000000000000000000000000000000000000", -1, TRUE },
  { "abcdefabcdefabcdefabcdefabcdefabcdefabcd", -1, TRUE },
  { "1EEDB3F3F84F19CEE0FA2C277A00C652E5890DC3", -1, FALSE },   /* upper case */
  { "1eedb3f3f84f19cee0fa2c277a00c652e5890dc", -1, FALSE },    /* 39 */
  { "1eedb3f3f84f19cee0fa2c277a00c652e5890dc33", -1, FALSE },  /* 41 */
  { "1eedb3f3f84f19cee0fa2c277a00c652e5890dcg", -1, FALSE },   /* 'g' */
  { "1eedb3f3f84f19cee0fa 2c277a00c652e5890dc", -1, FALSE },   /* space */
  { "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3xyz", 40, TRUE }, /* only len bytes */
  { "", -1, FALSE },
  { NULL, 40, FALSE },
};

static void
test_sidhash_syntax (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (sidhash_syntax_cases); i++)
    {
      const SidhashSyntaxCase *c = &sidhash_syntax_cases[i];
      gsize len = c->len >= 0 ? (gsize) c->len : strlen (c->text);

      g_test_message ("case %" G_GSIZE_FORMAT ": '%s'", i, c->text ? c->text : "(null)");
      g_assert_cmpint (bsp_sidhash_is_valid (c->text, len), ==, c->valid);
    }
}

/* ---- JIDs -------------------------------------------------------------- */

typedef struct
{
  const char *jid;
  gboolean valid;
  gboolean full;
  const char *normalized; /* NULL when invalid */
  const char *bare;
  const char *domain;
} JidCase;

static const JidCase jid_cases[] = {
  { "alice@example.com/res", TRUE, TRUE, "alice@example.com/res", "alice@example.com",
    "example.com" },
  { "Alice@Example.COM/Res", TRUE, TRUE, "alice@example.com/Res", "alice@example.com",
    "example.com" },
  { "alice@example.com", TRUE, FALSE, "alice@example.com", "alice@example.com", "example.com" },
  { "EXAMPLE.com", TRUE, FALSE, "example.com", "example.com", "example.com" },
  { "Example.com/Gateway", TRUE, TRUE, "example.com/Gateway", "example.com", "example.com" },
  /* The resource starts at the first '/', and may hold '@' and '/'. */
  { "a@B/c@d/E", TRUE, TRUE, "a@b/c@d/E", "a@b", "b" },
  { "B/c@d", TRUE, TRUE, "b/c@d", "b", "b" },
  { "\xc3\x89lise@\xc3\x89xample.com/\xc3\x89", TRUE, TRUE,
    "\xc3\xa9lise@\xc3\xa9xample.com/\xc3\x89", "\xc3\xa9lise@\xc3\xa9xample.com",
    "\xc3\xa9xample.com" },
  { "", FALSE, FALSE, NULL, NULL, NULL },
  { "@example.com", FALSE, FALSE, NULL, NULL, NULL },    /* empty node */
  { "alice@", FALSE, FALSE, NULL, NULL, NULL },          /* empty domain */
  { "alice@/res", FALSE, FALSE, NULL, NULL, NULL },      /* empty domain */
  { "/res", FALSE, FALSE, NULL, NULL, NULL },            /* empty domain */
  { "example.com/", FALSE, FALSE, NULL, NULL, NULL },    /* empty resource */
  { "a@example.com/", FALSE, FALSE, NULL, NULL, NULL },  /* empty resource */
  { "a@b@example.com", FALSE, FALSE, NULL, NULL, NULL }, /* '@' in the domain */
  { "a@b@example.com/r", FALSE, FALSE, NULL, NULL, NULL },
  { "alice@exa\xffmple.com", FALSE, FALSE, NULL, NULL, NULL }, /* not UTF-8 */
  { NULL, FALSE, FALSE, NULL, NULL, NULL },
};

static void
test_jid_case (gconstpointer data)
{
  const JidCase *c = data;
  g_autofree char *normalized = bsp_jid_normalize (c->jid);
  g_autofree char *bare = bsp_jid_bare (c->jid);
  g_autofree char *domain = bsp_jid_domain (c->jid);

  g_assert_cmpint (bsp_jid_is_valid (c->jid), ==, c->valid);
  g_assert_cmpint (bsp_jid_is_full (c->jid), ==, c->full);
  g_assert_cmpstr (normalized, ==, c->normalized);
  g_assert_cmpstr (bare, ==, c->bare);
  g_assert_cmpstr (domain, ==, c->domain);
}

static void
test_jid_normalize_idempotent (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (jid_cases); i++)
    {
      g_autofree char *once = bsp_jid_normalize (jid_cases[i].jid);
      g_autofree char *twice = NULL;

      if (once == NULL)
        continue;
      twice = bsp_jid_normalize (once);
      g_assert_cmpstr (once, ==, twice);
    }
}

/* ---- human text on <abort/> and <ended/> --------------------------------- */

static void
test_text_clean (void)
{
  static const struct
  {
    const char *in;
    gsize max;
    const char *out;
  } cases[] = {
    { NULL, 10, "" },
    { "disk full", 200, "disk full" },
    { "  two\nlines\r\tand\x1b[31mred  ", 200, "two lines  and [31mred" },
    /* a bidi override and a zero-width space are formatting: blanked */
    { "a\xe2\x80\xae"
      "b\xe2\x80\x8b"
      "c",
      200, "a b c" },
    /* bytes that are not UTF-8 come out as U+FFFD */
    { "x\xff\xfe"
      "y",
      200,
      "x\xef\xbf\xbd\xef\xbf\xbd"
      "y" },
    /* capped in characters, not bytes */
    { "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", 3, "\xc3\xbc\xc3\xbc\xc3\xbc" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = bsp_text_clean (cases[i].in, cases[i].max);
      g_assert_cmpstr (out, ==, cases[i].out);
      g_assert_true (g_utf8_validate (out, -1, NULL));
    }
  {
    g_autofree char *big = g_strnfill (100000, 'x');
    g_autofree char *out = bsp_text_clean (big, BSP_END_TEXT_MAX);
    g_assert_cmpuint (strlen (out), ==, BSP_END_TEXT_MAX);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (sidhash_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/sidhash/vector/%s", sidhash_cases[i].name);
      g_test_add_data_func (path, &sidhash_cases[i], test_sidhash_vector);
    }
  g_test_add_func ("/common/sidhash/case-rule", test_sidhash_case_rule);
  g_test_add_func ("/common/sidhash/order", test_sidhash_order);
  g_test_add_func ("/common/sidhash/invalid-input", test_sidhash_invalid);
  g_test_add_func ("/common/sidhash/syntax", test_sidhash_syntax);

  for (gsize i = 0; i < G_N_ELEMENTS (jid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/jid/%s/%" G_GSIZE_FORMAT,
                                               jid_cases[i].valid ? "valid" : "invalid", i);
      g_test_add_data_func (path, &jid_cases[i], test_jid_case);
    }
  g_test_add_func ("/common/jid/normalize-idempotent", test_jid_normalize_idempotent);
  g_test_add_func ("/common/text/clean", test_text_clean);

  return g_test_run ();
}
