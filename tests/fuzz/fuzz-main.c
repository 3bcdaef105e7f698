/* fuzz-main.c - a fuzz target without libFuzzer, for the normal build
 * (gcc): every file of the directories given (their subdirectories too,
 * in name order) goes through the target's LLVMFuzzerTestOneInput(), one
 * TAP line each. A target aborts on a finding, so the input being run is
 * named on stderr first: the test log shows which one failed.
 */
#include <glib.h>
#include <stdio.h>

#include "fuzz-util.h"

static int test_n, failed;

static void
run_file(const char *path)
{
	g_autofree char *data = NULL;
	gsize len;

	test_n++;
	if (!g_file_get_contents(path, &data, &len, NULL)) {
		printf("not ok %d - %s: cannot read\n", test_n, path);
		failed++;
		return;
	}
	fprintf(stderr, "# running %s\n", path);
	/* libFuzzer hands over a copy of exactly LEN bytes */
	g_autofree guint8 *copy = g_memdup2(data, len);
	LLVMFuzzerTestOneInput(copy, len);
	printf("ok %d - %s\n", test_n, path);
	fflush(stdout);
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static void
run_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *n;

	if (d == NULL) {
		printf("not ok %d - %s: cannot open the directory\n", ++test_n,
		       dir);
		failed++;
		return;
	}
	while ((n = g_dir_read_name(d)) != NULL)
		if (n[0] != '.')
			g_ptr_array_add(names, g_build_filename(dir, n, NULL));
	g_dir_close(d);
	g_ptr_array_sort(names, by_name);
	for (guint i = 0; i < names->len; i++) {
		const char *p = g_ptr_array_index(names, i);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			run_dir(p);
		else
			run_file(p);
	}
}

int
main(int argc, char **argv)
{
	fuzz_replaying = TRUE;
	for (int i = 1; i < argc; i++)
		run_dir(argv[i]);
	printf("1..%d\n", test_n);
	return failed ? 1 : 0;
}
