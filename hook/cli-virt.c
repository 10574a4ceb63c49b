/* SPDX-License-Identifier: GPL-2.0-or-later */
/* add, remove, list (see cli-virt.h). A forward is written into the persistent definition (what
 * the next start uses) and into the running one, where libvirt runs no hook on a metadata change:
 * the command then installs or removes the guest's rules itself, through the engine and its lock,
 * from the running XML it read back. Every check is made before the first write; a failed write
 * of the running definition puts the persistent one back. */
#include "cli-virt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor/doctor.h"
#include "engine.h"
#include "lock.h"
#include "log.h"
#include "metadata.h"
#include "state.h"
#include "virt.h"
#include "waiter.h"

#define MAX_ATTRS (3 + 7)   /* proto, host, guest and the table's seven options */

/* The forwards written in definition d's metadata, each as the hook would read it, not judged
 * against any table: 0, or -EINVAL when any is bad (each message logged when log). */
static int meta_of(const struct vp_domain *d, struct vp_table *ret, bool log)
{
	struct vp_table none;
	struct vp_diags dg = {0};
	int r;

	vp_table_init(&none);
	r = vp_metadata_forwards(&none, d, ret, &dg);
	for (size_t i = 0; log && i < dg.n; i++)
		vp_log(LOG_ERR, "%s", dg.msg[i]);
	vp_diags_free(&dg);
	vp_table_free(&none);
	return r == -EEXIST ? 0 : r;
}

/* Both definitions' metadata read without error: 0, else -EINVAL (logged). A change would
 * otherwise rewrite what we cannot read. */
static int meta_clean(const struct virt_guest *g)
{
	for (int w = VIRT_CFG; w <= VIRT_LIVE; w++) {
		const struct vp_domain *d = virt_def(g, (enum virt_def)w);
		struct vp_table m;
		int r = d ? meta_of(d, &m, true) : 0;
		if (d)
			vp_table_free(&m);
		if (r == -EINVAL) {
			vp_log(LOG_ERR, "the forwards in the metadata of %s have errors: correct them first "
			       "(virsh metadata %s %s)", d->name, d->name, VP_META_NS);
			return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct vp_domain *first_def(const struct virt_guest *g)
{
	return g->persistent ? &g->cfg : &g->live;
}

/* "domain NAME metadata", as metadata.c names the place. */
static void meta_file(const struct vp_domain *d, char *out, size_t outsz)
{
	snprintf(out, outsz, "domain %s metadata", d->name);
	vp_text_sanitize(out);
}

/* words[1..n) (PROTO HOST GUEST [key=value...]) as the guest's next metadata forward, into t,
 * with the table's messages (logged). 0, -EINVAL, -ENOMEM. */
static int parse_words(const struct vp_domain *d, unsigned index, char *const *words, size_t n,
                       struct vp_table *t)
{
	const char *w[4 + VP_META_MAX_ATTRS];
	char file[VP_NAME_MAX + 32];
	struct vp_diags dg = {0};
	int r;

	vp_table_init(t);
	meta_file(d, file, sizeof(file));
	w[0] = d->uuid;
	for (size_t i = 1; i < n; i++)
		w[i] = words[i];
	r = vp_table_add_words(t, file, index, w, n, &dg);
	for (size_t i = 0; i < dg.n; i++)
		vp_log(LOG_ERR, "%s", dg.msg[i]);
	vp_diags_free(&dg);
	return r;
}

/* Whether neu's forward clashes with one of the table or of any guest's metadata (both
 * definitions): -EEXIST (logged, naming the other place), 0, -ENOMEM. */
static int check_taken(const struct vp_table *table, const struct virt_guest *all, size_t n_all,
                       struct vp_table *neu)
{
	struct vp_diags dg = {0};
	int r = vp_table_check_extra(table, neu, &dg);

	for (size_t i = 0; r != -ENOMEM && neu->n && i < n_all; i++) {
		for (int w = VIRT_CFG; w <= VIRT_LIVE && neu->n; w++) {
			const struct vp_domain *d = virt_def(&all[i], (enum virt_def)w);
			struct vp_table m;
			if (!d)
				continue;
			if (meta_of(d, &m, false) == 0)   /* a bad one installs nothing: takes nothing */
				r = vp_table_check_extra(&m, neu, &dg);
			vp_table_free(&m);
		}
	}
	for (size_t i = 0; i < dg.n; i++)
		vp_log(LOG_ERR, "%s", dg.msg[i]);
	vp_diags_free(&dg);
	if (r == -ENOMEM)
		return r;
	return neu->n ? 0 : -EEXIST;
}

/* Another tool's DNAT on the new forward's port: warned of as `check` does (read as root only),
 * and added all the same: a connection goes to whichever rule it meets first. */
static void warn_dnats(const struct vp_table *neu)
{
	struct vp_diags w = {0};

	if (vp_lint_dnats(neu, &w) == 0)
		for (size_t i = 0; i < w.n; i++)
			vp_log(LOG_WARNING, "%s", w.msg[i]);
	vp_diags_free(&w);
}

/* Both definitions as they should become: the items of each, less skip[w] (SIZE_MAX: none),
 * plus the item keys=values (n: none). Only those with change[w] are written; after a failure
 * the ones written before are put back. Dry run: printed only. 0 or -EIO (logged). */
static int write_defs(struct virt_guest *g, const bool change[2], const size_t skip[2],
                      const char *const *keys, const char *const *values, size_t n, bool dry_run)
{
	struct vp_buf x[2] = {{0}}, old = {0};
	bool any[2] = {false, false};
	int r = 0, done = -1;

	for (int w = VIRT_CFG; w <= VIRT_LIVE; w++)
		if (change[w])
			any[w] = virt_meta_xml(virt_def(g, (enum virt_def)w), skip[w], keys, values, n, &x[w]);
	for (int w = VIRT_CFG; w <= VIRT_LIVE && r == 0; w++) {
		if (!change[w])
			continue;
		if (x[w].err) {
			r = -ENOMEM;
		} else if (dry_run) {
			printf("%s definition, metadata %s:\n%s", w == VIRT_CFG ? "persistent" : "running",
			       VP_META_NS, any[w] ? x[w].s : "(none)\n");
		} else {
			r = virt_set_meta(g, (enum virt_def)w, any[w] ? x[w].s : NULL);
			done = r == 0 ? w : done;
		}
	}
	if (r < 0 && done == VIRT_CFG) {
		const struct vp_domain *d = virt_def(g, VIRT_CFG);
		bool had = virt_meta_xml(d, SIZE_MAX, NULL, NULL, 0, &old);
		if (old.err || virt_set_meta(g, VIRT_CFG, had ? old.s : NULL) < 0)
			vp_log(LOG_ERR, "the persistent definition of %s keeps the change: see `virsh "
			       "dumpxml --inactive %s`", d->name, d->name);
	}
	vp_buf_free(&old);
	vp_buf_free(&x[0]);
	vp_buf_free(&x[1]);
	return r;
}

/* A running guest's rules brought in line with its new running definition, as the hook would
 * at its start: the engine, under our lock; a lease waiter when an address is still missing. */
static int install_live(struct vp_ctx *c, struct virt_guest *g)
{
	int r = virt_guest_reload_live(g);

	if (r == 0)
		r = vp_guest_install(c, &g->live);
	if (r == 0 && c->pending)
		vp_waiter_start(&g->live, g->live_xml, strlen(g->live_xml), c->table.set.lease_wait);
	if (r < 0)
		vp_log(LOG_ERR, "%s: the metadata is written, but its rules could not be brought in "
		       "line: run `virt-portfwd apply` once the cause is fixed", g->live.name);
	return r;
}

/* add and remove one at a time: each reads every guest's host ports, then writes, and two at
 * once could both find the same port free. The lock is a flock on our state directory itself,
 * apart from the engine's (the file "lock" in it), which vp_guest_install takes inside. A dry run
 * writes nothing and takes none (-1). The fd, -1, or -errno (logged). */
static int cli_lock(bool dry_run)
{
	int fd, r;

	if (dry_run)
		return -1;
	fd = vp_state_open_dir();
	if (fd < 0) {
		vp_log(LOG_ERR, "cannot open our state directory: %s", strerror(-fd));
		return fd;
	}
	r = vp_flock_wait(fd, VP_LOCK_WAIT_MS);
	if (r < 0) {
		vp_log(LOG_ERR, "another add or remove holds our lock: %s", strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/* The guest named by words[0], its metadata readable, and the table: 0 or -errno (logged). */
static int open_guest(const struct virt_args *a, void **conn, struct virt_guest *g,
                      struct vp_ctx *c)
{
	int r;

	*conn = virt_open(a->uri);
	if (!*conn)
		return -EIO;
	r = virt_guest_open(*conn, a->words[0], g);
	if (r == 0)
		r = meta_clean(g);
	if (r == 0)
		r = vp_ctx_load(c, a->config, a->config != NULL);
	return r;
}

/* The attributes of the new item, from words already accepted by the parser: keys and values,
 * each option split at its '=' (in a copy, own[i]). How many into *ret_n. 0 or -ENOMEM. */
static int item_attrs(char *const *words, size_t n, const char **keys, const char **values,
                      char **own, size_t *ret_n)
{
	static const char *const fields[] = {"proto", "host", "guest"};
	size_t k = 0;

	for (size_t i = 1; i < n && k < MAX_ATTRS; i++, k++) {
		char *eq;
		if (i <= 3) {
			keys[k] = fields[i - 1];
			values[k] = words[i];
			continue;
		}
		own[k] = strdup(words[i]);
		if (!own[k])
			return -ENOMEM;
		eq = strchr(own[k], '=');   /* there is one: the parser accepted the option */
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		keys[k] = own[k];
		values[k] = eq + 1;
	}
	*ret_n = k;
	return 0;
}

/* "web1: added tcp 2222 to the persistent and the running definition". */
static void say_done(const struct virt_guest *g, const bool change[2], bool add,
                     const struct vp_forward *f, bool dry_run)
{
	struct vp_buf h = {0};

	vp_forward_host(&h, f, f->host_port, f->host_port_end);
	printf("%s: %s %s %s %s the %s%s%s definition\n", first_def(g)->name,
	       dry_run ? (add ? "would add" : "would remove") : (add ? "added" : "removed"),
	       vp_proto_name(f->proto), h.s ? h.s : "?", add ? "to" : "from",
	       change[VIRT_CFG] ? "persistent" : "",
	       change[VIRT_CFG] && change[VIRT_LIVE] ? " and the " : "",
	       change[VIRT_LIVE] ? "running" : "");
	vp_buf_free(&h);
}

int vp_cli_add(const struct virt_args *a)
{
	void *conn = NULL;
	struct virt_guest g = {0}, *all = NULL;
	struct vp_ctx c = {.dry_run = a->dry_run};
	struct vp_table neu;
	const char *keys[MAX_ATTRS], *values[MAX_ATTRS];
	char *own[MAX_ATTRS] = {NULL};
	size_t n_all = 0, n = 0, skip[2] = {SIZE_MAX, SIZE_MAX};
	bool change[2];
	int lockfd = cli_lock(a->dry_run);
	int r = lockfd < -1 ? lockfd : open_guest(a, &conn, &g, &c);

	vp_table_init(&neu);
	if (r == 0)
		r = parse_words(first_def(&g), (unsigned)first_def(&g)->n_meta + 1, a->words,
		                (size_t)a->n_words, &neu);
	if (r == 0)
		r = virt_guests_all(conn, &all, &n_all);
	if (r == 0)
		r = check_taken(&c.table, all, n_all, &neu);
	if (r == 0)
		warn_dnats(&neu);
	change[VIRT_CFG] = g.persistent;
	change[VIRT_LIVE] = g.active;
	if (r == 0)
		r = item_attrs(a->words, (size_t)a->n_words, keys, values, own, &n);
	if (r == 0)
		r = write_defs(&g, change, skip, keys, values, n, a->dry_run);
	if (r == 0)
		say_done(&g, change, true, &neu.fwd[0], a->dry_run);
	if (r == 0 && g.active && !a->dry_run)
		r = install_live(&c, &g);
	if (r == -EEXIST || r == -EINVAL)
		vp_log(LOG_ERR, "nothing changed");
	for (size_t i = 0; i < MAX_ATTRS; i++)
		free(own[i]);
	vp_table_free(&neu);
	virt_guests_free(all, n_all);
	virt_guest_free(&g);
	vp_ctx_free(&c);
	virt_close(conn);
	if (lockfd >= 0)
		close(lockfd);
	return r < 0 ? 1 : 0;
}

/* The port part of a host side: "2222" of "[::1]:2222", "10.0.0.1:2222-2223", "2222". */
static const char *ports_of(const char *host)
{
	const char *colon = strrchr(host, ':');

	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		return close && close[1] == ':' ? close + 2 : host;
	}
	return colon ? colon + 1 : host;
}

static bool same_host(const struct vp_forward *a, const struct vp_forward *b)
{
	return a->proto == b->proto && a->family == b->family &&
	       vp_addr_equal(&a->host_addr, &b->host_addr) && a->host_port == b->host_port &&
	       a->host_port_end == b->host_port_end;
}

/* The index of the item of d written as want, or SIZE_MAX. */
static size_t find_item(const struct vp_domain *d, const struct vp_forward *want)
{
	struct vp_table m;
	size_t at = SIZE_MAX;

	if (d && meta_of(d, &m, false) == 0)
		for (size_t i = 0; i < m.n && at == SIZE_MAX; i++)
			if (same_host(&m.fwd[i], want))
				at = m.fwd[i].line - 1;
	if (d)
		vp_table_free(&m);
	return at;
}

/* Not in the metadata: where it is, when it is in the table. */
static void not_found(const struct vp_ctx *c, const struct vp_domain *d,
                      const struct vp_forward *want, const char *host)
{
	for (size_t i = 0; i < c->table.n; i++) {
		const struct vp_forward *f = &c->table.fwd[i];
		if (vp_forward_matches(f, d->name, d->uuid) && same_host(f, want)) {
			vp_log(LOG_ERR, "%s %s of %s is in the table (%s:%u), not in the guest's "
			       "metadata: remove it there, then run `virt-portfwd apply`; nothing changed",
			       vp_proto_name(want->proto), host, d->name, f->file, f->line);
			return;
		}
	}
	vp_log(LOG_ERR, "%s has no forward of %s %s in its metadata: see `virt-portfwd list %s`; "
	       "nothing changed", d->name, vp_proto_name(want->proto), host, d->name);
}

int vp_cli_unforward(const struct virt_args *a)
{
	void *conn = NULL;
	struct virt_guest g = {0};
	struct vp_ctx c = {.dry_run = a->dry_run};
	struct vp_table want;
	char *words[4];
	size_t skip[2];
	bool change[2];
	int lockfd = cli_lock(a->dry_run);
	int r = lockfd < -1 ? lockfd : open_guest(a, &conn, &g, &c);

	vp_table_init(&want);
	if (r == 0) {   /* the host side read as a forward onto the same ports */
		memcpy(words, a->words, 3 * sizeof(*words));
		words[3] = (char *)ports_of(a->words[2]);
		r = parse_words(first_def(&g), (unsigned)first_def(&g)->n_meta + 1, words, 4, &want);
	}
	for (int w = VIRT_CFG; r == 0 && w <= VIRT_LIVE; w++) {
		skip[w] = find_item(virt_def(&g, (enum virt_def)w), &want.fwd[0]);
		change[w] = skip[w] != SIZE_MAX;
	}
	if (r == 0 && !change[VIRT_CFG] && !change[VIRT_LIVE]) {
		not_found(&c, first_def(&g), &want.fwd[0], a->words[2]);
		r = -ENOENT;
	}
	if (r == 0)
		r = write_defs(&g, change, skip, NULL, NULL, 0, a->dry_run);
	if (r == 0)
		say_done(&g, change, false, &want.fwd[0], a->dry_run);
	if (r == 0 && g.active && !a->dry_run)
		r = install_live(&c, &g);
	if (r == -EINVAL)
		vp_log(LOG_ERR, "nothing changed");
	vp_table_free(&want);
	virt_guest_free(&g);
	vp_ctx_free(&c);
	virt_close(conn);
	if (lockfd >= 0)
		close(lockfd);
	return r < 0 ? 1 : 0;
}

/* " from=203.0.113.0/24 nic=...": f's options as a table line writes them. */
static void put_options(struct vp_buf *o, const struct vp_forward *f)
{
	char a[VP_CIDR_STRLEN];

	for (size_t i = 0; i < f->n_from; i++)
		vp_buf_printf(o, "%s%s", i ? "," : " from=", vp_cidr_str(&f->from[i], a));
	if (f->nic[0])
		vp_buf_printf(o, " nic=%s", f->nic);
	if (f->network)
		vp_buf_printf(o, " network=%s", f->network);
	if (f->ip.family)
		vp_buf_printf(o, " ip=%s", vp_addr_str(&f->ip, a));
	if (f->masquerade)
		vp_buf_printf(o, " masquerade=yes");
	if (!f->local)
		vp_buf_printf(o, " local=no");
	if (!f->hairpin)
		vp_buf_printf(o, " hairpin=no");
}

/* One forward as a table line, then where it is written, as a comment. */
static void put_forward(const char *guest, const struct vp_forward *f, const char *where)
{
	struct vp_buf o = {0};
	char name[VP_NAME_MAX];

	snprintf(name, sizeof(name), "%s", guest);
	vp_text_sanitize(name);
	vp_buf_printf(&o, strpbrk(name, " \t#\"") ? "\"%s\" %s " : "%s %s ", name,
	              vp_proto_name(f->proto));
	vp_forward_host(&o, f, f->host_port, f->host_port_end);
	vp_buf_printf(&o, " %u", f->guest_port);
	if (f->guest_port_end != f->guest_port)
		vp_buf_printf(&o, "-%u", f->guest_port_end);
	put_options(&o, f);
	vp_buf_printf(&o, "  # %s\n", where);
	if (o.s)
		fputs(o.s, stdout);
	vp_buf_free(&o);
}

/* The forwards of m not in other (other NULL: all), each with where. */
static void put_meta(const char *guest, const struct vp_table *m, const struct vp_table *other,
                     const char *where)
{
	for (size_t i = 0; i < m->n; i++) {
		bool both = false;
		for (size_t k = 0; other && k < other->n && !both; k++)
			both = same_host(&m->fwd[i], &other->fwd[k]);
		if (!both)
			put_forward(guest, &m->fwd[i], where);
	}
}

/* A guest's forwards: the table's, then its metadata's (the running definition's, and those
 * only in one of the two definitions, said so). 0, or the error of a definition whose metadata
 * could not be read (logged; the rest is still listed). */
static int list_guest(const struct vp_table *t, const struct virt_guest *g, bool *listed)
{
	const struct vp_domain *d = first_def(g);
	struct vp_table cfg, live;
	char where[4096 + 32];
	int r = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (!vp_forward_matches(&t->fwd[i], d->name, d->uuid))
			continue;
		listed[i] = true;
		snprintf(where, sizeof(where), "%s:%u", t->fwd[i].file, t->fwd[i].line);
		put_forward(d->name, &t->fwd[i], where);
	}
	vp_table_init(&cfg);
	vp_table_init(&live);
	if (g->persistent)
		r = meta_of(&g->cfg, &cfg, true);
	if (g->active) {
		int rl = meta_of(&g->live, &live, true);
		r = r < 0 ? r : rl;
	}
	if (g->active && g->persistent) {
		put_meta(d->name, &live, NULL, "metadata");
		put_meta(d->name, &cfg, &live, "metadata, from the next start");
	} else {
		put_meta(d->name, g->active ? &live : &cfg, NULL, "metadata");
	}
	vp_table_free(&cfg);
	vp_table_free(&live);
	return r;
}

int vp_cli_list(const struct virt_args *a)
{
	void *conn = virt_open(a->uri);
	struct virt_guest one = {0}, *all = NULL;
	struct vp_ctx c = {0};
	size_t n = 0;
	bool *listed = NULL;
	int r = conn ? 0 : -EIO;
	bool unread = false;

	if (r == 0 && a->n_words) {
		r = virt_guest_open(conn, a->words[0], &one);
		all = &one;
		n = 1;
	} else if (r == 0) {
		r = virt_guests_all(conn, &all, &n);
	}
	if (r == 0)
		r = vp_ctx_load(&c, a->config, a->config != NULL);
	listed = r == 0 ? calloc(c.table.n + 1, sizeof(*listed)) : NULL;
	if (r == 0 && !listed)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (list_guest(&c.table, &all[i], listed) < 0)
			unread = true;
	for (size_t i = 0; r == 0 && !a->n_words && i < c.table.n; i++)
		if (!listed[i]) {
			char where[4096 + 64];
			snprintf(where, sizeof(where), "%s:%u, no such guest", c.table.fwd[i].file,
			         c.table.fwd[i].line);
			put_forward(c.table.fwd[i].domain, &c.table.fwd[i], where);
		}
	free(listed);
	if (all == &one)
		virt_guest_free(&one);
	else
		virt_guests_free(all, n);
	vp_ctx_free(&c);
	virt_close(conn);
	return r < 0 || unread ? 1 : 0;
}
