#!/bin/bash
# fetch-libvirt.sh SERIES OUTDIR: another libvirt than the installed one, as a file tree for the
# real-libvirt suite (VP_LIBVIRT=SERIES, see lib.sh), never installed.
#
# SERIES 9.0 is the libvirt Debian 12 itself ships (the suite's default libvirt is 11.3 from
# bookworm-backports, and both cannot be installed at once). Its packages are fetched with
# `apt-get download` at the newest 9.0 version apt knows (bookworm's main suite) and extracted
# with `dpkg-deb -x` into OUTDIR/usr; the test's private mount namespace lays that tree over /usr,
# so that libvirtd, virtlogd, virsh, the lease helper and the driver modules are all 9.0's.
# In 9.0, libvirt-daemon still holds libvirtd with every driver but qemu's (the split into
# libvirt-daemon-driver-network and the others came later); libyajl2 is the JSON library 9.0
# links and 11.3 no longer pulls in. Every other library 9.0 needs is one 11.3 needs too.
#
# Cached: OUTDIR/key holds the version and a hash of this script; a tree with the same key is
# reused, and when apt knows no 9.0 version (no package lists, no network) so is an older one.
set -euo pipefail

say() { printf 'fetch-libvirt: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ $# -eq 2 ] || die "usage: fetch-libvirt.sh SERIES OUTDIR"
SERIES=$1
OUT=$2
case "$SERIES" in
9.0) PKGS=(libvirt0 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients) EXTRA=(libyajl2) ;;
*) die "unknown libvirt series '$SERIES' (known: 9.0)" ;;
esac
for tool in apt-cache apt-get dpkg-deb sha256sum; do
	command -v "$tool" >/dev/null || die "missing $tool"
done

# The newest version of the series that apt offers for libvirt-daemon (every package of one
# libvirt build has the same version).
VERSION=$(apt-cache madison libvirt-daemon 2>/dev/null |
	awk -F' *[|] *' -v s="$SERIES" 'index($2, s ".") == 1 { print $2 }' | sort -V | tail -n 1)
have_tree() { [ -x "$OUT/usr/sbin/libvirtd" ] && [ -s "$OUT/key" ]; }
if [ -z "$VERSION" ]; then
	if have_tree; then
		say "apt knows no libvirt $SERIES; reusing the cached tree in $OUT ($(cat "$OUT/version"))"
		exit 0
	fi
	die "apt knows no libvirt $SERIES.x (is bookworm's main suite in apt's sources? apt-get update?)"
fi
KEY="$VERSION $(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if have_tree && [ "$(cat "$OUT/key")" = "$KEY" ]; then
	say "cached libvirt $VERSION in $OUT is current"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vp-libvirt.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
want=()
for p in "${PKGS[@]}"; do
	want+=("$p=$VERSION")
done
# The extra libraries at the version apt would install (apt-get download takes the candidate).
want+=("${EXTRA[@]}")
say "downloading ${want[*]}"
# apt-get download runs as _apt when it can; the work dir is root's, which only costs a warning.
if ! (cd "$WORK" && apt-get -q download "${want[@]}" >"$WORK/apt.log" 2>&1); then
	sed 's/^/  /' "$WORK/apt.log" >&2
	if have_tree; then
		say "apt-get download failed; reusing the older cached tree in $OUT ($(cat "$OUT/version"))"
		exit 0
	fi
	die "apt-get download failed"
fi
mkdir -p "$WORK/tree"
for f in "$WORK"/*.deb; do
	dpkg-deb -x "$f" "$WORK/tree"
done
# Every library found (the tree's own first), and the daemon says it is the series asked for.
lib=$WORK/tree/usr/lib/x86_64-linux-gnu
if LD_LIBRARY_PATH=$lib ldd "$WORK/tree/usr/sbin/libvirtd" "$lib"/libvirt/connection-driver/*.so |
	grep 'not found' >&2; then
	die "libvirt $VERSION needs a library this machine lacks (listed above)"
fi
case "$(LD_LIBRARY_PATH=$lib "$WORK/tree/usr/sbin/libvirtd" --version)" in
*" $SERIES".*) ;;
*) die "the extracted libvirtd is not libvirt $SERIES" ;;
esac

# Only /usr is laid over the machine's; the packages' /etc and /lib (systemd units) stay out.
# Replace the tree as a unit: the key last, so a half-written tree is never taken as current.
mkdir -p "$OUT"
rm -f "$OUT/key"
rm -rf "${OUT:?}/usr"
mv "$WORK/tree/usr" "$OUT/usr"
printf '%s\n' "$VERSION" >"$OUT/version"
printf '%s\n' "$KEY" >"$OUT/key"
say "libvirt $VERSION ready in $OUT ($(du -sh "$OUT/usr" | cut -f1))"
