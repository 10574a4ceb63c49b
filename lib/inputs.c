/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define MAX_GUESTS 100000

struct vp_netinfo *vp_netcache_get(struct vp_netcache *c, const char *name)
{
	char path[4096];
	char *buf = NULL;
	size_t len;

	for (size_t i = 0; i < c->len; i++)
		if (!strcmp(c->n[i].name, name))
			return &c->n[i];
	if (c->len == VP_NETCACHE_MAX || strlen(name) >= VP_NAME_MAX || strchr(name, '/'))
		return NULL;
	struct vp_netinfo *n = &c->n[c->len++];
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, strlen(name) + 1);
	n->leases_r = 1;
	n->r = vp_path(path, sizeof(path), "/run/libvirt/network/%s.xml", name);
	if (n->r == 0)
		n->r = vp_read_file(path, VP_NETWORK_XML_MAX, true, &buf, &len);
	if (n->r == 0)
		n->r = vp_network_parse(buf, len, &n->net);
	free(buf);
	return n;
}

const struct vp_leases *vp_netinfo_leases(struct vp_netinfo *n)
{
	char path[4096];
	char *buf = NULL;
	size_t len;

	if (n->r < 0)
		return NULL;
	if (n->leases_r == 1) {
		n->leases_r = vp_path(path, sizeof(path), "/var/lib/libvirt/dnsmasq/%s.status",
		                      n->net.bridge);
		if (n->leases_r == 0)
			n->leases_r = vp_read_file(path, VP_LEASES_MAX_SIZE, true, &buf, &len);
		if (n->leases_r == 0)
			n->leases_r = vp_leases_parse(buf, len, &n->leases);
		free(buf);
	}
	return n->leases_r == 0 ? &n->leases : NULL;
}

void vp_netcache_free(struct vp_netcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->len; i++) {
		if (c->n[i].r == 0)
			vp_network_free(&c->n[i].net);
		vp_leases_free(&c->n[i].leases);
	}
	c->len = 0;
}

static bool xml_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 4 && !strcmp(name + n - 4, ".xml");
}

/* One status file: 0 skipped or handed over, <0 stop. */
static int one_status(int dfd, const char *name,
                      int (*fn)(void *ctx, struct vp_domain *d, char *xml, size_t len), void *ctx)
{
	struct vp_domain d = {0};
	char *buf = NULL;
	size_t len;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), r;

	if (fd < 0)
		return 0;   /* gone meanwhile: the guest stopped */
	r = vp_read_fd(fd, VP_DOMAIN_XML_MAX, &buf, &len);
	close(fd);
	if (r == 0)
		r = vp_domain_parse(buf, len, &d);
	if (r < 0 || !d.running) {
		if (r == 0)
			vp_domain_free(&d);
		free(buf);
		return 0;
	}
	r = fn(ctx, &d, buf, len);
	if (r != 1) {
		vp_domain_free(&d);
		free(buf);
	}
	return r < 0 ? r : 0;
}

int vp_foreach_running(int (*fn)(void *ctx, struct vp_domain *d, char *xml, size_t len),
                       void *ctx)
{
	char dir[4096];
	DIR *dp;
	struct dirent *e;
	unsigned seen = 0;
	int r = vp_path(dir, sizeof(dir), "/run/libvirt/qemu");

	if (r < 0)
		return r;
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (e = readdir(dp)) && seen++ < MAX_GUESTS)
		if (xml_name(e->d_name))
			r = one_status(dirfd(dp), e->d_name, fn, ctx);
	closedir(dp);
	return r;
}
