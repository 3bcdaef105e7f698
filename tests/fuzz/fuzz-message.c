/* fuzz-message.c - libFuzzer target: parse an arbitrary message the way
 * soarlist-deliver does and apply the header policy; nothing may crash,
 * and no output header line may start without a name (header injection).
 * Build: meson setup build-fuzz -Dfuzz=true (with CC=clang).
 */
#include <gmime/gmime.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soarlist/message.h"
#include "soarlist/rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gboolean init;
	static char *domains[] = { "ssc.example.org", "other.example.org", NULL };
	static struct club_config club = { .slug = "ssc", .name = "Club",
					   .domains = domains };
	struct list_ref ref = {
		.id = 1, .club_id = 1, .club = &club, .name = "members",
		.domain = "ssc.example.org",
		.address = "members@ssc.example.org", .display = "Members",
	};
	struct rewrite_input in = { .list = &ref, .envelope_sender = "a@b.c" };
	struct message msg;
	char *head;
	int fd;

	if (!init) {
		g_mime_init();
		init = TRUE;
	}
	ref.settings.from_rewrite = TRUE;
	ref.settings.subject_prefix = "[SSC]";
	ref.settings.reply_to = size % 3;
	fd = memfd_create("fuzz", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (message_parse(fd, (off_t)size, &msg, NULL) == 0) {
		g_free(message_author(&msg));
		g_free(message_id(&msg));
		(void)rewrite_has_loop_marker(msg.headers, &ref);
		(void)rewrite_is_auto_submitted(msg.headers);
		rewrite_headers(msg.headers, &in);
		head = g_mime_header_list_to_string(msg.headers, NULL);
		for (const char *l = head; *l; l = strchr(l, '\n') + 1) {
			/* every line: a continuation, or "Name:" */
			if (*l != ' ' && *l != '\t' && strcspn(l, ":\n") ==
			    strcspn(l, "\n"))
				abort();
			if (strchr(l, '\n') == NULL)
				break;
		}
		g_free(head);
		message_clear(&msg);
	}
	close(fd);
	return 0;
}
