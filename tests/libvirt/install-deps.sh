#!/bin/bash
# Install what the real-libvirt test layer needs (root, idempotent, prints what it does).
#
# libvirt 11.3 comes from bookworm-backports: it has both firewall backends (iptables and
# nftables) selectable in network.conf, which the suite exercises. The backports suite is added
# with the same mirror and keyring as the machine's main Debian source, so no new trust is needed.
# libvirt 9.0, Debian 12's own, is never installed: the suite's VP_LIBVIRT=9.0 run fetches its
# packages into the build dir (fetch-libvirt.sh).
set -euo pipefail

say() { printf 'install-deps: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	say "not root, nothing installed"
	exit 0
fi

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
	say "this script knows Debian 12 (bookworm) only; found '${VERSION_CODENAME:-unknown}', nothing installed"
	exit 0
fi

BACKPORTS=/etc/apt/sources.list.d/virt-portfwd-backports.sources
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600)

# The packages, with the version each one must come from. libvirt's daemon pieces and the network
# driver must match; qemu from the main suite is fine (any 7.x runs the TCG guests we boot).
# libvirt-dev (the build's headers for add, remove, list) from the same suite as libvirt0.
LIBVIRT_PKGS=(libvirt-daemon-system libvirt-daemon libvirt-daemon-driver-qemu
	libvirt-daemon-driver-network libvirt-clients libvirt-dev)
OTHER_PKGS=(qemu-system-x86 dnsmasq-base busybox-static cpio socat gzip xz-utils iproute2
	iptables nftables gcc libc6-dev jq dropbear-bin openssh-client
	firewalld dbus-daemon python3-dbus)   # the firewalld setup, and its watcher's unit test

# Mirror of the main suite, taken from the machine's own Debian source (deb822 or one-line).
find_mirror() {
	local f uri=""
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
	fi
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

have_backports() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/
}

# Installed version of every package matches the candidate from the suite we asked for?
libvirt_ok() {
	local v
	v=$(dpkg-query -W -f='${Version}' libvirt-daemon-driver-network 2>/dev/null || true)
	case "$v" in 11.*) ;; *) return 1 ;; esac
	for p in "${LIBVIRT_PKGS[@]}" "${OTHER_PKGS[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
	done
}

if libvirt_ok; then
	say "libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon) and the guest tools are installed already"
	exit 0
fi

if ! have_backports; then
	mirror=$(find_mirror)
	say "adding bookworm-backports ($mirror) as $BACKPORTS"
	cat >"$BACKPORTS" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

say "apt-get update"
"${APT[@]}" update

# firewalld's maintainer scripts would start it on a systemd machine, and a firewalld running
# here would rewrite this machine's own firewall: the tests run theirs in private namespaces
# only. A policy-rc.d that denies every start (invoke-rc.d and deb-systemd-invoke ask it) stays
# in place during the install; one the machine has already is left as it is.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
	say "denying service starts during the install ($POLICY)"
	printf '#!/bin/sh\n# virt-portfwd install-deps.sh: no service starts during its install\nexit 101\n' >"$POLICY"
	chmod 0755 "$POLICY"
	trap 'rm -f "$POLICY"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
# --force-confold: a conffile changed on this machine would otherwise stop the install at a prompt.
say "installing ${LIBVIRT_PKGS[*]} from bookworm-backports"
"${APT[@]}" -t bookworm-backports -o Dpkg::Options::=--force-confold --no-install-recommends \
	install "${LIBVIRT_PKGS[@]}"
say "installing ${OTHER_PKGS[*]}"
"${APT[@]}" -o Dpkg::Options::=--force-confold --no-install-recommends install "${OTHER_PKGS[@]}"

# The packages start nothing here (no systemd), but their maintainer scripts may have started
# a default network definition: the suite uses private copies of /etc/libvirt, so leave it.
# A firewalld in this machine's own network namespace (the tests' run in namespaces of theirs).
for pid in $(pgrep -f '/usr/sbin/firewalld'); do
	[ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/self/ns/net)" ] &&
		say "WARNING: firewalld (pid $pid) runs on this machine's own firewall: stop it"
done
say "done: libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon)"
