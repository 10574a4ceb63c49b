#!/bin/bash
# build-image.sh OUTDIR: the test guest (kernel + initramfs) from Debian packages.
#
# OUTDIR/vmlinuz and OUTDIR/initrd.gz boot in a few seconds under TCG: Debian's cloud kernel
# (only the virtio net modules are needed, as uncompressed .ko files insmod'ed in dependency
# order), static busybox and a static UDP echo program. The guest takes its name from the kernel
# command line (vpname=NAME), gets its IPv4 address by DHCP, serves its name over HTTP on port 22
# (busybox httpd; /cgi-bin/probe?IP:PORT makes the guest itself connect somewhere, which is how
# the suite drives guest-to-guest traffic), echoes UDP on 27015, and prints "VP-READY NAME IP" on
# the serial console ("VP-READY NAME IP IPV6" with an IPv6 address). Busybox has no DHCPv6
# client: a guest gets IPv6 from the command line (vpip6=ADDR/PREFIXLEN vpgw6=ROUTER), static,
# without duplicate address detection or router advertisements so that it is usable at once and
# is its only global address. Both listeners serve IPv4 and IPv6.
#
# More modes, off unless the command line asks:
#  - vpip4=ADDR/PREFIX vpgw4=ROUTER: an IPv4 address set inside the guest, no DHCP (issue 17);
#    the guest pings ROUTER once, its first word on the network.
#  - vpslaac=1 vpgw6=ROUTER: IPv6 by the kernel's SLAAC from libvirt's router advertisements;
#    the first global address is the one VP-READY prints; the guest pings ROUTER once from it.
#  - vpsshkey=BASE64 (an ssh-ed25519 public key's blob): dropbear (Debian's dropbear-bin, with
#    the shared libraries ldd names) serves SSH on port 2022, root logs in with that key only;
#    /etc/vpname holds the guest's name. The host key is made when the image is built.
#  - vpclaim=MAC: the attack of issue 15. Once the guest has its own lease it swaps eth0's MAC
#    for MAC, asks for a lease under a client id of its own (so dnsmasq records a second lease
#    for MAC, with another address), swaps back, keeps that address as a second one (its HTTP
#    answers there too) and prints "VP-CLAIMED NAME MAC IP". Its udhcpc stays: GET
#    /cgi-bin/release makes it send the DHCPRELEASE that takes the claimed lease away.
#
# The result is cached: OUTDIR/key holds a hash of every input (this script, udp-echo.c, the
# kernel, busybox and dropbear package versions, the libraries dropbear is linked with); an image
# with the same key is reused.
set -euo pipefail

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ $# -eq 1 ] || die "usage: build-image.sh OUTDIR"
OUT=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

for tool in apt-cache apt-get dpkg-deb cpio gzip gcc sha256sum ldd dropbearkey; do
	command -v "$tool" >/dev/null || die "missing $tool (run tests/libvirt/install-deps.sh)"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (busybox-static)"
DROPBEAR=/usr/sbin/dropbear
[ -x "$DROPBEAR" ] || die "missing $DROPBEAR (dropbear-bin)"
case "$(LC_ALL=C ldd /bin/busybox 2>&1 || true)" in
*"not a dynamic"*) ;;
*) die "/bin/busybox is not static: install busybox-static" ;;
esac

# The kernel package the archive currently offers behind the cloud meta-package.
kernel_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# The shared libraries dropbear needs, as resolved on this machine (the loader included).
dropbear_libs() {
	LC_ALL=C ldd "$DROPBEAR" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

input_key() {
	local kpkg=$1 kver
	kver=$(apt-cache policy "$kpkg" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
	{
		printf 'kernel %s %s\n' "$kpkg" "$kver"
		printf 'busybox %s\n' "$(dpkg-query -W -f='${Version}' busybox-static)"
		printf 'gcc %s\n' "$(gcc -dumpfullversion)"
		printf 'dropbear %s\n' "$(dpkg-query -W -f='${Version}' dropbear-bin)"
		# shellcheck disable=SC2046 # one path per word
		sha256sum "$DROPBEAR" $(dropbear_libs)
		cat "$HERE/build-image.sh" "$HERE/udp-echo.c"
	} | sha256sum | cut -d' ' -f1
}

KPKG=$(kernel_pkg)
if [ -z "$KPKG" ]; then
	# No package lists (apt-get update never ran, or no network): a cached image still serves.
	if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ]; then
		say "no kernel package known to apt; reusing the cached image in $OUT"
		exit 0
	fi
	die "apt knows no linux-image-cloud-amd64 (run apt-get update / install-deps.sh)"
fi
KEY=$(input_key "$KPKG")
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && [ "$(cat "$OUT/key" 2>/dev/null)" = "$KEY" ]; then
	say "cached image is current ($KPKG)"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vp-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say "building the guest image from $KPKG in $WORK"

# apt-get download runs as _apt when it can; the work dir is root's, which only costs a warning.
if ! (cd "$WORK" && apt-get -q download "$KPKG" >"$WORK/apt.log" 2>&1); then
	sed 's/^/  /' "$WORK/apt.log" >&2
	if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ]; then
		say "apt-get download $KPKG failed; reusing the older cached image in $OUT"
		exit 0
	fi
	die "apt-get download $KPKG failed"
fi
dpkg-deb -x "$WORK"/"$KPKG"_*.deb "$WORK/kernel"
KVER=$(ls "$WORK/kernel/lib/modules")
[ -n "$KVER" ] || die "$KPKG has no modules directory"

ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,etc/dropbear,lib/modules,root,www/cgi-bin}

# Modules: copy flat; decompress if this kernel ships them compressed.
for m in $MODULES; do
	f=$(find "$WORK/kernel/lib/modules/$KVER" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
	if [ -z "$f" ]; then
		grep -q "/$m.ko\$" "$WORK/kernel/lib/modules/$KVER/modules.builtin" 2>/dev/null && continue
		die "module $m not found in $KPKG"
	fi
	case "$f" in
	*.xz) xz -dc "$f" >"$ROOT/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$ROOT/lib/modules/$m.ko" ;;
	*) cp "$f" "$ROOT/lib/modules/$m.ko" ;;
	esac
done
# shellcheck disable=SC2086 # one module per line
printf '%s\n' $MODULES >"$ROOT/lib/modules/order"

cp /bin/busybox "$ROOT/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$ROOT/bin/$applet"
done
gcc -static -O2 -s -o "$ROOT/bin/udp-echo" "$HERE/udp-echo.c"

# dropbear and its libraries at the paths the loader looks them up at; root in /etc/passwd
# (glibc's files lookup is built in), a host key of this image.
cp "$DROPBEAR" "$ROOT/bin/dropbear"
for lib in $(dropbear_libs); do
	mkdir -p "$ROOT${lib%/*}"
	cp -L "$lib" "$ROOT$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf '/bin/sh\n' >"$ROOT/etc/shells"
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$ROOT/etc/nsswitch.conf"
dropbearkey -t ed25519 -f "$ROOT/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1 ||
	die "dropbearkey failed"
chmod 0700 "$ROOT/root"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# Test guest init: network up by DHCP (and a static IPv6 address when the command line gives
# one), HTTP on 22 naming the guest, UDP echo on 27015; SSH on 2022, the claim of another's
# MAC, an IPv4 address without DHCP and IPv6 by SLAAC when the command line asks.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
name=unnamed
ip6=
gw6=
claim=
sshkey=
ip4=
gw4=
slaac=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vpname=*) name=${arg#vpname=} ;;
	vpip6=*) ip6=${arg#vpip6=} ;;
	vpgw6=*) gw6=${arg#vpgw6=} ;;
	vpclaim=*) claim=${arg#vpclaim=} ;;
	vpsshkey=*) sshkey=${arg#vpsshkey=} ;;
	vpip4=*) ip4=${arg#vpip4=} ;;
	vpgw4=*) gw4=${arg#vpgw4=} ;;
	vpslaac=1) slaac=1 ;;
	esac
done
hostname "$name"
echo "$name" >/etc/vpname

# SSH on 2022 for root with the key from the command line only (no password logins).
ssh_up() {
	mkdir -p /root/.ssh
	chmod 0700 /root/.ssh
	echo "ssh-ed25519 $1 vp-e2e" >/root/.ssh/authorized_keys
	chmod 0600 /root/.ssh/authorized_keys
	dropbear -s -j -k -p 2022 -r /etc/dropbear/dropbear_ed25519_host_key ||
		echo "VP-ERROR dropbear did not start"
}

# vpclaim=MAC (issue 15): a DHCP request with MAC as chaddr, from eth0 with MAC swapped in, and
# a client id of our own, so that dnsmasq gives a second lease under MAC rather than renewing
# its owner's. The udhcpc that got it stays (release: SIGUSR2, see /cgi-bin/release).
claim_mac() {
	own=$(cat /sys/class/net/eth0/address)
	rm -f /tmp/claim-ip
	ip link set eth0 address "$1" || { echo "VP-ERROR cannot set the MAC $1"; return; }
	udhcpc -f -i eth0 -s /etc/udhcpc-claim.sh -t 5 -T 1 -A 1 -x 0x3d:ff76706d6163 \
		>/dev/null 2>&1 &
	echo $! >/tmp/claim.pid
	i=0
	while [ ! -s /tmp/claim-ip ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	ip link set eth0 address "$own"
	[ -s /tmp/claim-ip ] || { echo "VP-ERROR no lease under $1"; return; }
	ip addr add "$(cat /tmp/claim-ip)/24" dev eth0
	# The host's neighbour entry for that address names MAC (dnsmasq set it for its offer).
	arping -q -U -c 1 -I eth0 "$(cat /tmp/claim-ip)"
	echo "VP-CLAIMED $name $1 $(cat /tmp/claim-ip)"
}

for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m.ko" || echo "VP-ERROR insmod $m failed"
done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# Before the link comes up: no DAD (busybox ip has no nodad), no SLAAC address or route from
# libvirt's router advertisements, only the static address.
if [ -n "$ip6" ]; then
	if [ -d /proc/sys/net/ipv6/conf/eth0 ]; then
		for k in accept_dad accept_ra autoconf; do echo 0 >"/proc/sys/net/ipv6/conf/eth0/$k"; done
	else
		echo "VP-ERROR no IPv6 in this kernel"
	fi
fi
ip link set eth0 up || echo "VP-ERROR no eth0"
if [ -n "$ip6" ]; then
	ip -6 addr add "$ip6" dev eth0 || echo "VP-ERROR ip -6 addr add $ip6 failed"
	[ -n "$gw6" ] && { ip -6 route add default via "$gw6" dev eth0 || echo "VP-ERROR no IPv6 route"; }
fi
echo "$name" >/www/index.html
httpd -p 22 -h /www
udp-echo "$name" 27015 &
if [ -n "$ip4" ]; then
	# vpip4=ADDR/PREFIX vpgw4=ROUTER (issue 17): an address set inside the guest, no DHCP. One
	# ping of the router is the guest's first word: the host learns its MAC then (ARP).
	ip addr add "$ip4" dev eth0 || echo "VP-ERROR ip addr add $ip4 failed"
	[ -n "$gw4" ] && ip route add default via "$gw4" dev eth0
	echo "${ip4%/*}" >/tmp/ip
	[ -n "$gw4" ] && ping -c 1 -W 2 "$gw4" >/dev/null 2>&1
else
	until udhcpc -i eth0 -s /etc/udhcpc.sh -q -n -t 5 -T 1 -A 1 -x "hostname:$name" >/dev/null 2>&1; do
		echo "VP-WAIT no DHCP lease yet"
	done
fi
if [ -n "$slaac" ]; then
	# vpslaac=1 vpgw6=ROUTER (issue 17): IPv6 from the router advertisements only (the kernel's
	# SLAAC), then one ping of the router from it, for the host to learn it (NDP).
	i=0
	while [ $i -lt 200 ]; do
		ip6=$(ip -6 addr show dev eth0 scope global | awk '/inet6/ && !/tentative/ { print $2; exit }')
		[ -n "$ip6" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$ip6" ] || echo "VP-ERROR no SLAAC address"
	[ -n "$gw6" ] && ping -6 -c 1 -W 2 "$gw6" >/dev/null 2>&1
fi
[ -n "$sshkey" ] && ssh_up "$sshkey"
echo "VP-READY $name $(cat /tmp/ip)${ip6:+ ${ip6%/*}}"
[ -n "$claim" ] && claim_mac "$claim"
while :; do sleep 3600; done
EOF

cat >"$ROOT/etc/udhcpc.sh" <<'EOF'
#!/bin/sh
# udhcpc event script: address and default route, nothing else.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
	echo "$ip" >/tmp/ip
	;;
esac
exit 0
EOF

cat >"$ROOT/etc/udhcpc-claim.sh" <<'EOF'
#!/bin/sh
# udhcpc event script of vpclaim: the claimed address is only recorded (init adds it once the
# MAC is eth0's own again); a release takes it away.
case "$1" in
bound | renew) echo "$ip" >/tmp/claim-ip ;;
deconfig)
	[ -s /tmp/claim-ip ] && ip addr del "$(cat /tmp/claim-ip)/24" dev "$interface" 2>/dev/null
	rm -f /tmp/claim-ip
	;;
esac
exit 0
EOF

cat >"$ROOT/www/cgi-bin/release" <<'EOF'
#!/bin/sh
# GET /cgi-bin/release -> vpclaim's udhcpc sends a DHCPRELEASE for the claimed lease.
printf 'Content-Type: text/plain\r\n\r\n'
pid=$(cat /tmp/claim.pid 2>/dev/null)
if [ -n "$pid" ] && kill -USR2 "$pid" 2>/dev/null; then
	echo "release-sent"
else
	echo "release-error no claim"
fi
EOF

cat >"$ROOT/www/cgi-bin/probe" <<'EOF'
#!/bin/sh
# GET /cgi-bin/probe?IP:PORT -> the guest connects to IP:PORT, sends an HTTP request and
# returns the last line of the answer (the name of the guest that served it). IP is IPv4 or
# IPv6 without brackets: the port is what follows the last colon.
printf 'Content-Type: text/plain\r\n\r\n'
target=${QUERY_STRING%:*}
port=${QUERY_STRING##*:}
case "$target:$port" in
*[!0-9a-fA-F.:]* | :* | *:) echo "probe-error bad query"; exit 0 ;;
esac
reply=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 8 nc -w 5 "$target" "$port" 2>&1 | tail -n 1)
echo "probe-result ${reply:-none}"
EOF
chmod 0755 "$ROOT/init" "$ROOT/etc/udhcpc.sh" "$ROOT/etc/udhcpc-claim.sh" "$ROOT/www/cgi-bin/probe" \
	"$ROOT/www/cgi-bin/release"

mkdir -p "$OUT"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -6 >"$WORK/initrd.gz"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
# Replace the files as a unit: the key last, so a half-written image is never taken as current.
rm -f "$OUT/key"
mv "$WORK/vmlinuz" "$OUT/vmlinuz"
mv "$WORK/initrd.gz" "$OUT/initrd.gz"
printf '%s\n' "$KEY" >"$OUT/key"
printf '%s %s\n' "$KPKG" "$KVER" >"$OUT/kernel-version"
say "image ready in $OUT ($KPKG, $(du -h "$OUT/initrd.gz" | cut -f1) initramfs)"
