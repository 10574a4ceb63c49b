/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test-only fault injection for the in-process firewall backends, loaded with LD_PRELOAD into
 * the hook by the faults-* and hostile-* cases of tests/netns/cases. Never linked into
 * virt-portfwd.
 *
 *   VP_FAULT_IPTC=TABLE:N[,TABLE:N...]  the N-th commit (IPT_SO_SET_REPLACE or IP6T_...) of
 *                                       legacy table TABLE in this process fails with EAGAIN,
 *                                       as when another writer changed the table meanwhile
 *   VP_FAULT_NFT=N[,N...]               the N-th nf_tables batch (a netlink message starting
 *                                       with NFNL_MSG_BATCH_BEGIN) fails with EPERM, unsent:
 *                                       the kernel refusing a whole transaction
 *   VP_FAULT_EXECLOG=FILE               every program this process asks libc to run
 *                                       (posix_spawn*, exec*, system, popen) is appended to FILE
 *   VP_FAULT_LOG=FILE                   each fault injected is appended to FILE, so a test can
 *                                       tell that the failure path really ran
 *   VP_FAULT_XMLLOG=FILE                a line "xml parsed" is appended to FILE for each
 *                                       document libxml2 is asked to parse (xmlCtxtReadMemory):
 *                                       whether a hook call read its domain XML at all
 *   VP_FAULT_XMLCRASH=1                 that parse dies of SIGSEGV instead: a library crashing
 *                                       under the hook
 *
 * The variables and LD_PRELOAD are removed from the environment at load time: the programs the
 * hook runs (and its lease waiter) run unmodified. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SO_SET_REPLACE_OPT 64   /* IPT_SO_SET_REPLACE == IP6T_SO_SET_REPLACE == IPT_BASE_CTL */
#define TABLE_NAME_LEN 32       /* XT_TABLE_MAXNAMELEN: the first field of ipt_replace */
#define MAX_FAULTS 8

struct fault {
	char table[TABLE_NAME_LEN];
	unsigned long nth;
};

static struct fault iptc_faults[MAX_FAULTS];
static size_t n_iptc_faults;
static unsigned long nft_faults[MAX_FAULTS];
static size_t n_nft_faults;
static char execlog[4096], faultlog[4096], xmllog[4096];
static bool xmlcrash;

/* Next comma-separated item of *p (advanced past it) into item; false at the end. */
static bool next_item(const char **p, char *item, size_t n)
{
	size_t len;

	if (!**p)
		return false;
	len = strcspn(*p, ",");
	snprintf(item, n, "%.*s", (int)len, *p);
	*p += len + ((*p)[len] == ',');
	return true;
}

static void parse_iptc(const char *spec)
{
	char item[64];

	while (n_iptc_faults < MAX_FAULTS && next_item(&spec, item, sizeof(item))) {
		char *colon = strchr(item, ':');
		struct fault *f = &iptc_faults[n_iptc_faults];
		if (!colon || (size_t)(colon - item) >= TABLE_NAME_LEN)
			continue;
		*colon = '\0';
		memcpy(f->table, item, strlen(item) + 1);
		f->nth = strtoul(colon + 1, NULL, 10);
		n_iptc_faults++;
	}
}

static void parse_nft(const char *spec)
{
	char item[64];

	while (n_nft_faults < MAX_FAULTS && next_item(&spec, item, sizeof(item)))
		nft_faults[n_nft_faults++] = strtoul(item, NULL, 10);
}

__attribute__((constructor)) static void faultinj_init(void)
{
	const char *v;

	if ((v = getenv("VP_FAULT_IPTC")))
		parse_iptc(v);
	if ((v = getenv("VP_FAULT_NFT")))
		parse_nft(v);
	if ((v = getenv("VP_FAULT_EXECLOG")))
		snprintf(execlog, sizeof(execlog), "%s", v);
	if ((v = getenv("VP_FAULT_LOG")))
		snprintf(faultlog, sizeof(faultlog), "%s", v);
	if ((v = getenv("VP_FAULT_XMLLOG")))
		snprintf(xmllog, sizeof(xmllog), "%s", v);
	xmlcrash = getenv("VP_FAULT_XMLCRASH") != NULL;
	unsetenv("VP_FAULT_IPTC");
	unsetenv("VP_FAULT_LOG");
	unsetenv("VP_FAULT_NFT");
	unsetenv("VP_FAULT_EXECLOG");
	unsetenv("VP_FAULT_XMLLOG");
	unsetenv("VP_FAULT_XMLCRASH");
	unsetenv("LD_PRELOAD");
}

static void append_line(const char *path, const char *line, size_t len)
{
	int fd;

	if (!path[0])
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, len) < 0)
		(void)0;   /* a test helper: the test sees the missing line */
	close(fd);
}

static void note_fault(const char *what, const char *detail, unsigned long nth)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s %s %lu\n", what, detail, nth);

	if (n > 0)
		append_line(faultlog, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p)
		abort();
	return p;
}

/* ---- libiptc: fail a table commit ----------------------------------------------------------- */

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	static unsigned long commits[MAX_FAULTS];

	if (!real)
		real = (int (*)(int, int, int, const void *, socklen_t))next_sym("setsockopt");
	if ((level == IPPROTO_IP || level == IPPROTO_IPV6) && optname == SO_SET_REPLACE_OPT &&
	    optval && optlen >= TABLE_NAME_LEN) {
		const char *table = optval;
		for (size_t i = 0; i < n_iptc_faults; i++) {
			if (strncmp(table, iptc_faults[i].table, TABLE_NAME_LEN) != 0)
				continue;
			if (++commits[i] == iptc_faults[i].nth) {
				note_fault("iptc", iptc_faults[i].table, commits[i]);
				errno = EAGAIN;
				return -1;
			}
		}
	}
	return real(fd, level, optname, optval, optlen);
}

/* ---- libxml2: which documents are parsed ------------------------------------------------------ */

/* libxml2's own prototype, its types left opaque: this library does not link libxml2, the hook
 * does, so the hook's calls come here first. */
void *xmlCtxtReadMemory(void *ctxt, const char *buf, int size, const char *url, const char *enc,
                        int options);
void *xmlCtxtReadMemory(void *ctxt, const char *buf, int size, const char *url, const char *enc,
                        int options)
{
	static void *(*real)(void *, const char *, int, const char *, const char *, int);
	static const char line[] = "xml parsed\n";

	if (!real)
		real = (void *(*)(void *, const char *, int, const char *, const char *, int))
			next_sym("xmlCtxtReadMemory");
	append_line(xmllog, line, sizeof(line) - 1);
	if (xmlcrash) {
		note_fault("xml", "crash", 1);
		raise(SIGSEGV);
	}
	return real(ctxt, buf, size, url, enc, options);
}

/* ---- libnftables: fail a whole batch -------------------------------------------------------- */

static bool is_nft_batch(int fd, const struct msghdr *msg)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int proto = 0;
	socklen_t pl = sizeof(proto);
	struct nlmsghdr h;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != AF_NETLINK)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) < 0 || proto != NETLINK_NETFILTER)
		return false;
	if (!msg || msg->msg_iovlen < 1 || msg->msg_iov[0].iov_len < sizeof(h))
		return false;
	memcpy(&h, msg->msg_iov[0].iov_base, sizeof(h));
	return h.nlmsg_type == NFNL_MSG_BATCH_BEGIN;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	static unsigned long batches;

	if (!real)
		real = (ssize_t (*)(int, const struct msghdr *, int))next_sym("sendmsg");
	if (n_nft_faults && is_nft_batch(fd, msg)) {
		batches++;
		for (size_t i = 0; i < n_nft_faults; i++)
			if (nft_faults[i] == batches) {
				note_fault("nft", "batch", batches);
				errno = EPERM;
				return -1;
			}
	}
	return real(fd, msg, flags);
}

/* ---- what the process runs ------------------------------------------------------------------ */

static void log_exec(const char *how, const char *path, char *const argv[])
{
	char line[4096];
	size_t len;

	if (!execlog[0])
		return;
	len = (size_t)snprintf(line, sizeof(line), "%s %s", how, path ? path : "(null)");
	for (size_t i = 0; argv && argv[i] && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", argv[i]);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	append_line(execlog, line, len);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
	            const posix_spawnattr_t *, char *const[], char *const[]) =
		(int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *,
		         const posix_spawnattr_t *, char *const[], char *const[]))next_sym("posix_spawn");
	log_exec("posix_spawn", path, argv);
	return real(pid, path, fa, attr, argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
	            const posix_spawnattr_t *, char *const[], char *const[]) =
		(int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *,
		         const posix_spawnattr_t *, char *const[], char *const[]))next_sym("posix_spawnp");
	log_exec("posix_spawnp", file, argv);
	return real(pid, file, fa, attr, argv, envp);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	int (*real)(const char *, char *const[], char *const[]) =
		(int (*)(const char *, char *const[], char *const[]))next_sym("execve");
	log_exec("execve", path, argv);
	return real(path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
	int (*real)(const char *, char *const[]) =
		(int (*)(const char *, char *const[]))next_sym("execv");
	log_exec("execv", path, argv);
	return real(path, argv);
}

int execvp(const char *file, char *const argv[])
{
	int (*real)(const char *, char *const[]) =
		(int (*)(const char *, char *const[]))next_sym("execvp");
	log_exec("execvp", file, argv);
	return real(file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int (*real)(const char *, char *const[], char *const[]) =
		(int (*)(const char *, char *const[], char *const[]))next_sym("execvpe");
	log_exec("execvpe", file, argv);
	return real(file, argv, envp);
}

int system(const char *command)
{
	int (*real)(const char *) = (int (*)(const char *))next_sym("system");
	char *const argv[] = {(char *)"-c", (char *)command, NULL};
	log_exec("system", "/bin/sh", argv);
	return real(command);
}

FILE *popen(const char *command, const char *type)
{
	FILE *(*real)(const char *, const char *) =
		(FILE * (*)(const char *, const char *)) next_sym("popen");
	char *const argv[] = {(char *)"-c", (char *)command, NULL};
	log_exec("popen", "/bin/sh", argv);
	return real(command, type);
}
