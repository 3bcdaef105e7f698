/* test-api.c - api_parse: both shapes of "lists", invalid entries dropped
 * and counted, case-insensitive deduplication, and the documents that must
 * be rejected as a whole. */
#include "soarlist/api.h"

#include "unit.h"

static struct api_data *
parse(const char *json)
{
	GError *err = NULL;
	struct api_data *d = api_parse(json, strlen(json), &err);

	check_str(err ? err->message : NULL, NULL, "api_parse error");
	g_clear_error(&err);
	return d;
}

static const struct api_list *
find_list(const struct api_data *d, const char *name)
{
	for (guint i = 0; i < d->lists->len; i++) {
		const struct api_list *l = g_ptr_array_index(d->lists, i);
		if (strcmp(l->name, name) == 0)
			return l;
	}
	return NULL;
}

/* LIST's members (or the whitelist when LIST is NULL) joined with ','
 * equal WANT. */
static void
check_addrs(const struct api_data *d, const char *list, const char *want)
{
	const struct api_list *l = list ? find_list(d, list) : NULL;
	GPtrArray *a = list ? (l ? l->members : NULL) : d->whitelist;
	GString *s = g_string_new(NULL);

	for (guint i = 0; a != NULL && i < a->len; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "",
				       (char *)g_ptr_array_index(a, i));
	check_str(a ? s->str : NULL, want, "addresses of %s",
		  list ? list : "the whitelist");
	g_string_free(s, TRUE);
}

static void
test_shapes(void)
{
	/* DESIGN.md's shape, arrays, plus the older objects with "emails" */
	struct api_data *d = parse(
		"{ \"lists\": { \"members\": [\"a@x.org\", \"b@y.com\"],"
		"  \"treasurer\": [\"t@z.net\"], \"board\": [],"
		"  \"pilots\": {\"description\": \"Tow pilots\", \"count\": 2,"
		"              \"emails\": [\"a@x.org\", \"p@y.com\"]},"
		"  \"empty\": {\"count\": 0, \"emails\": []} },"
		"  \"whitelist\": [\"a@x.org\", \"treasurer@otherclub.org\"],"
		"  \"bypass_lists\": [\"treasurer\", \"webmaster\"] }");
	GString *names = g_string_new(NULL);

	g_assert_nonnull(d);
	for (guint i = 0; i < d->lists->len; i++)
		g_string_append_printf(
			names, "%s ",
			((struct api_list *)g_ptr_array_index(d->lists, i))
				->name);
	check_str(names->str, "board empty members pilots treasurer ",
		  "list names, sorted");
	g_string_free(names, TRUE);
	check_addrs(d, "members", "a@x.org,b@y.com");
	check_addrs(d, "treasurer", "t@z.net");
	check_addrs(d, "board", "");
	check_addrs(d, "pilots", "a@x.org,p@y.com");
	check_addrs(d, "empty", "");
	check_addrs(d, NULL, "a@x.org,treasurer@otherclub.org");
	check_str(find_list(d, "pilots")->description, "Tow pilots",
		  "pilots description");
	check_str(find_list(d, "members")->description, NULL,
		  "members description");
	check_int(find_list(d, "treasurer")->bypass, TRUE, "treasurer bypass");
	check_int(find_list(d, "members")->bypass, FALSE, "members bypass");
	check_int(d->dropped, 0, "dropped");
	check_int(api_data_member_count(d), 4, "api_data_member_count");
	api_data_free(&d);
	check_int(d == NULL, TRUE, "pointer NULL after api_data_free");
}

static void
test_invalid_dropped(void)
{
	struct api_data *d = parse(
		"{ \"lists\": { \"members\": [\"good@x.org\", \"no-at-sign\","
		"  \"two@@x.org\", \"sp ace@x.org\", \"-oQ@x.org\","
		"  \"comma,x@x.org\", \"quo\\\"te@x.org\", \"ctl\\u0001@x.org\","
		"  \"\", 42, null, \"Upper@EXAMPLE.ORG\"],"
		"  \"Bad Name\": [\"c@x.org\"] },"
		"  \"whitelist\": [\"w@x.org\", \"bad@\", \"@bad\"] }");
	char *all;

	g_assert_nonnull(d);
	check_addrs(d, "members", "good@x.org,Upper@example.org");
	check_addrs(d, NULL, "w@x.org");
	/* 8 bad strings and 2 non-strings in members, 2 bad whitelist
	 * entries; the list name is not dropped but kept aside by name */
	check_int(d->dropped, 12, "dropped");
	check_int(d->warnings->len, 12, "warnings");
	check_int(d->lists->len, 1, "lists kept");
	check_int(d->unusable->len, 1, "unusable lists");
	check_str(((struct api_unusable *)d->unusable->pdata[0])->name,
		  "Bad Name", "unusable list name, as sent");
	g_ptr_array_add(d->warnings, NULL);
	all = g_strjoinv("\n", (char **)d->warnings->pdata);
	check_contains(all, "no-at-sign", "warnings");
	/* untrusted text is shown escaped, never raw */
	check_lacks(all, "\001", "warnings");
	check_contains(all, "\\x01", "warnings");
	g_free(all);
	api_data_free(&d);
}

/* List names a webmaster may choose at M2S (up to 100 characters, any
 * case) that cannot be a mailbox local part: each is reported with why and
 * a name that would work. */
static void
test_unusable_names(void)
{
	static const struct {
		const char *name, *why, *rename;
	} cases[] = {
		{ "Board Members", "it contains a space", "board-members" },
		{ "Tow pilots / Duty", "it contains a space",
		  "tow-pilots-duty" },
		{ "Vorstand\\u00c4", "it contains a letter that is not ASCII",
		  "vorstand" },
		{ "board@club", "it contains '@'", "board-club" },
		{ "a+b", "it contains '+'", "a-b" },
		{ "-members", "it starts with '-'", "members" },
		{ "", "it is empty", NULL },
		{ "ctl\\u0001x", "it contains a control character", "ctl-x" },
		{ "board-owner",
		  "it ends in -owner, which soarlist uses for the "
		  "address of a list's owners",
		  NULL },
		{ "x-bounces",
		  "it ends in -bounces, which soarlist uses for the "
		  "address of a list's bounces",
		  NULL },
		{ "Instruction-Request",
		  "it ends in -request, which soarlist "
		  "uses for the address of a list's moderation replies",
		  NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "it is longer than 64 characters",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *json = g_strdup_printf(
			"{\"lists\": {\"m\": [], \"%s\": "
			"[\"a@x.org\"]}, \"whitelist\": []}",
			cases[i].name);
		struct api_data *d = parse(json);
		const struct api_unusable *u;
		char *fix;

		g_assert_nonnull(d);
		check_int(d->lists->len, 1, "usable lists of %s", json);
		check_int(d->unusable->len, 1, "unusable lists of %s", json);
		check_int(d->dropped, 0, "dropped of %s", json);
		u = d->unusable->pdata[0];
		check_str(u->why, cases[i].why, "why of \"%s\"", cases[i].name);
		check_str(u->rename, cases[i].rename, "rename of \"%s\"",
			  cases[i].name);
		fix = api_unusable_fix(u);
		check_contains(fix, "rename the list at M2S", "fix of \"%s\"",
			       cases[i].name);
		g_free(fix);
		api_data_free(&d);
		g_free(json);
	}
}

static void
test_duplicates(void)
{
	struct api_data *d = parse(
		"{ \"lists\": { \"members\": [\"a@x.org\", \"A@X.ORG\","
		"  \"a@X.org\", \"b@x.org\", \"a@x.org\"], \"Board\": [] },"
		"  \"whitelist\": [\"W@x.org\", \"w@X.ORG\", \"w@x.org\"],"
		"  \"bypass_lists\": [\"BOARD\"] }");

	g_assert_nonnull(d);
	check_addrs(d, "members", "a@x.org,b@x.org");
	check_addrs(d, NULL, "W@x.org");
	check_int(find_list(d, "board") && find_list(d, "board")->bypass, TRUE,
		  "\"Board\" stored as board, bypass named as BOARD");
	check_int(d->dropped, 0, "dropped (duplicates are not errors)");
	api_data_free(&d);
	/* bypass_lists is optional, an empty list and whitelist are fine */
	d = parse("{\"lists\": {\"m\": []}, \"whitelist\": []}");
	g_assert_nonnull(d);
	check_addrs(d, "m", "");
	check_addrs(d, NULL, "");
	api_data_free(&d);
}

/* Documents that must fail as a whole: storing them would empty or
 * corrupt a club's lists. */
static void
test_reject(void)
{
	static const char *const cases[] = {
		"",
		"not json",
		"{",
		"{\"lists\": {\"m\": []}, \"whitelist\": []",
		"[]",
		"\"lists\"",
		"null",
		"{}",
		"{\"whitelist\": [\"a@x.org\"]}",
		/* "lists": not an object, empty, or a list of the wrong type */
		"{\"Lists\": {\"m\": []}, \"whitelist\": []}",
		"{\"lists\": 3, \"whitelist\": []}",
		"{\"lists\": null, \"whitelist\": []}",
		"{\"lists\": [\"members\"], \"whitelist\": []}",
		"{\"lists\": {\"m\": 5}, \"whitelist\": []}",
		"{\"lists\": {\"m\": \"a@x.org\"}, \"whitelist\": []}",
		"{\"lists\": {\"m\": {\"emails\": 5}}, \"whitelist\": []}",
		"{\"lists\": {\"m\": {\"description\": \"x\"}}, \"whitelist\": []}",
		/* a count that disagrees: a truncated answer */
		"{\"lists\": {\"m\": {\"count\": 2, \"emails\": [\"a@x.org\"]}},"
		" \"whitelist\": []}",
		"{\"lists\": {\"m\": [], \"m\": []}, \"whitelist\": []}",
		"{\"lists\": {\"Members\": [], \"members\": []}, \"whitelist\": []}",
		/* whitelist: missing or not an array */
		"{\"lists\": {\"m\": []}}",
		"{\"lists\": {\"m\": []}, \"whitelist\": null}",
		"{\"lists\": {\"m\": []}, \"whitelist\": \"a@x.org\"}",
		"{\"lists\": {\"m\": []}, \"whitelist\": {\"a\": \"a@x.org\"}}",
		"{\"lists\": {\"m\": []}, \"whitelist\": 1}",
		"{\"lists\": {\"m\": []}, \"whitelist\": [], "
		"\"bypass_lists\": \"m\"}",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		GError *err = NULL;
		struct api_data *d = api_parse(cases[i], strlen(cases[i]),
					       &err);

		check_str(d     ? "data"
			  : err ? "an error"
				: "NULL, no error",
			  "an error", "api_parse(%s)", cases[i]);
		api_data_free(&d);
		g_clear_error(&err);
	}
	/* LEN is honoured: what follows is not part of the document */
	{
		const char *json =
			"{\"lists\": {\"m\": []}, \"whitelist\": []}GARBAGE";
		struct api_data *d = api_parse(json, strlen(json) - 7, NULL);

		check_int(d != NULL, TRUE, "api_parse(first %zu bytes of %s)",
			  strlen(json) - 7, json);
		api_data_free(&d);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/api/shapes", test_shapes);
	g_test_add_func("/api/invalid-dropped", test_invalid_dropped);
	g_test_add_func("/api/duplicates", test_duplicates);
	g_test_add_func("/api/unusable-names", test_unusable_names);
	g_test_add_func("/api/reject", test_reject);
	return g_test_run();
}
