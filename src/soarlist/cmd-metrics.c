/* cmd-metrics.c - soarlist metrics [-o FILE]: every figure of the server
 * in the Prometheus text format (metrics.h), to stdout or replacing FILE
 * atomically (mode 0644, for node_exporter's textfile collector, which
 * must never read half a file). Exit 0; 1 when the database or FILE
 * failed (Postfix being down is a figure, soarlist_postfix_up 0); 64 on
 * a usage error; 75 when the database is busy. */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "soarlist/fdio.h"
#include "soarlist/metrics.h"

static char *opt_output;

static const GOptionEntry entries[] = {
	{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
	  "Replace FILE atomically instead of printing", "FILE" },
	G_OPTION_ENTRY_NULL,
};

int
cmd_metrics(struct cli *cli, int argc, char **argv)
{
	struct server_figures f = { 0 };
	g_autoptr(GString) out = g_string_new(NULL);
	GError *err = NULL;
	int rc = cli_parse(cli, entries, 0, 0, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	rc = figures_collect(cli->db, cli->cfg, TRUE, &f, &err);
	if (rc == 0)
		rc = metrics_write(cli->db, cli->cfg, &f,
				   g_get_real_time() / G_USEC_PER_SEC, out,
				   &err);
	figures_clear(&f);
	if (rc < 0)
		return cli_fail(&err, NULL);
	if (opt_output == NULL) {
		fwrite(out->str, 1, out->len, stdout);
		return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	}
	if (fdio_replace(opt_output, out->str, out->len, 0644, (gid_t)-1) < 0) {
		cli_error("cannot write %s: %s", opt_output, g_strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}
