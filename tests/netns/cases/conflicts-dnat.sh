# SPDX-License-Identifier: GPL-2.0-or-later
# conflicts-dnat: another tool's DNAT on a forwarded host port, as that tool writes it: Docker
# publishing 2222 through the host kind's iptables variant (IPv4 and IPv6: it clashes with
# guest1's 2222 and [::]:2222), netavark's iptables driver publishing 8081 (inside guest1's
# 8080-8081), and the nftables tables of Docker 29 (2322), netavark (2399 on the host's
# address) and a firewalld forward-port (8080; its UDP 2399 clashes with nothing). `check`
# warns at each clashing forward's file:line:col naming the tool, the port and where the rule
# is; the doctor fails conflicts.dnat for exactly those forwards, with the fix. Once the rules
# are gone, neither says anything; check without root says once that it did not read them.
# A guest's metadata forward on a port of the table: the doctor fails conflicts.forwards. A host
# process listening on a forwarded port: check warns, the doctor warns without failing.
# kinds: nft legacy nftables

. "$VP_LIB/doctor.sh"
. "$VP_LIB/neighbours.sh"

setup() {
	vp_doctor_setup
}

T=
# The table's place of a forward by its line (vp_doctor_table): FILE:LINE:COL.
at() { echo "$T:$1:18"; }

# expect_check DESC WARNING...: `check` exits 0 and logs exactly these warnings.
expect_check() {
	local desc=$1 mark out want
	shift
	mark=$(vp_log_mark)
	out=$(vp_cli check)
	vp_check_eq "$desc: check exits 0" "$?" 0
	want=$(printf 'virt-portfwd: %s\n' "$@")
	[ $# -gt 0 ] || want=
	vp_check_eq "$desc: check warns of each, at its place" "$(vp_log_since "$mark")" "$want"
	vp_check_eq "$desc: check counts them" "$out" \
		"5 forwards for 2 guests, no errors${*:+, $# warning$([ $# = 1 ] || echo s)}"
}

# expect_doctor DESC N TEXT...: conflicts.dnat is the one failing check, for N forwards, and
# its lines name each TEXT.
expect_doctor() {
	local desc=$1 n=$2 t
	shift 2
	vp_doctor_expect_fail "$desc" conflicts.dnat "pick another host port for this forward"
	vp_check_eq "$desc: $n forwards fail conflicts.dnat" \
		"$(grep -c '^{"check":"conflicts.dnat",.*"ok":false' "$VP_DOCTOR_OUT")" "$n"
	for t in "$@"; do
		vp_check "$desc: the doctor says '$t'" grep -qF -- "$t" "$VP_DOCTOR_OUT"
	done
}

# add (through libvirt's test driver, its own node; run dry: nothing is written): a port
# Docker publishes too is warned of as check does, and the forward is added all the same.
add_warns() {
	local u="test://$VP_SRCDIR/tests/unit/fixtures/cli/node.xml" mark rc
	local rule=(! -i docker0 -p tcp -m tcp --dport 2400 -j DNAT --to-destination 172.17.0.3:80)
	vp_h "$IPT" -w -t nat -A DOCKER "${rule[@]}" || return 1
	mark=$(vp_log_mark)
	vp_cli --dry-run --connect "$u" add web2 tcp 2400 22 >/dev/null
	rc=$?
	vp_h "$IPT" -w -t nat -D DOCKER "${rule[@]}" || return 1
	[ "$rc" = 0 ] && vp_log_since "$mark" |
		grep -q "warning: Docker DNATs tcp port 2400 too ($IPT nat DOCKER rule 3)"
}

docker_iptables_remove() {
	local n=vp_h
	$n "$IPT" -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER &&
		$n "$IPT" -w -t nat -D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER &&
		$n "$IPT" -w -t nat -D POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE &&
		$n "$IPT" -w -t nat -F DOCKER && $n "$IPT" -w -t nat -X DOCKER &&
		$n "$IPT" -w -F DOCKER && $n "$IPT" -w -X DOCKER &&
		$n "$IP6T" -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER &&
		$n "$IP6T" -w -t nat -F DOCKER && $n "$IP6T" -w -t nat -X DOCKER
}

netavark_iptables_remove() {
	local n=vp_h c
	$n "$IPT" -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT ||
		return 1
	for c in NETAVARK-HOSTPORT-DNAT NETAVARK-HOSTPORT-SETMARK NETAVARK-DN-1D8721804F16F; do
		$n "$IPT" -w -t nat -F "$c" || return 1
	done
	for c in NETAVARK-HOSTPORT-DNAT NETAVARK-HOSTPORT-SETMARK NETAVARK-DN-1D8721804F16F; do
		$n "$IPT" -w -t nat -X "$c" || return 1
	done
}

tables_remove() {
	vp_h nft delete table ip docker-bridges && vp_h nft delete table inet netavark &&
		vp_h nft delete table inet firewalld
}

run() {
	T=$VP_ROOT/etc/virt-portfwd/forwards.conf
	vp_doctor_start_healthy
	expect_check "no other tool"

	vp_nb_load docker-28-published
	vp_h "$IP6T-restore" -w --noflush <"$VP_NB_FIXTURES/docker-28-published-ipv6.rules" ||
		vp_die "loading Docker's IPv6 rules failed"
	expect_check "Docker publishes 2222 (iptables)" \
		"$(at 1): warning: Docker DNATs tcp port 2222 too ($IPT nat DOCKER rule 2): a connection goes to whichever rule it meets first" \
		"$(at 2): warning: Docker DNATs tcp port 2222 too ($IP6T nat DOCKER rule 2): a connection goes to whichever rule it meets first"
	expect_doctor "Docker publishes 2222 (iptables)" 2 "guest1 tcp 2222" "Docker DNATs tcp port 2222" \
		"docker run -p"
	vp_check "add on a port Docker publishes warns as check does, and adds" add_warns
	vp_check "Docker's rules removed" docker_iptables_remove

	vp_nb_load netavark-iptables
	expect_check "netavark publishes 8081 (iptables)" \
		"$(at 3): warning: netavark DNATs tcp port 8081 too ($IPT nat NETAVARK-DN-1D8721804F16F rule 3): a connection goes to whichever rule it meets first"
	expect_doctor "netavark publishes 8081 (iptables)" 1 "podman run -p"
	vp_check "netavark's rules removed" netavark_iptables_remove

	vp_check "the nftables tables of Docker, netavark, firewalld" \
		vp_h nft -f "$VP_NB_FIXTURES/container-tables.nft"
	expect_check "Docker, netavark and firewalld tables" \
		"$(at 3): warning: firewalld DNATs tcp port 8080 too (nftables inet firewalld nat_PRE_public_allow rule 1): a connection goes to whichever rule it meets first" \
		"$(at 4): warning: Docker DNATs tcp port 2322 too (nftables ip docker-bridges nat-prerouting-and-output rule 1): a connection goes to whichever rule it meets first" \
		"$(at 5): warning: netavark DNATs tcp port 2399 on $VP_HOST_ADDR too (nftables inet netavark nv_2f259bab_10_88_0_0_nm16_dnat rule 1): a connection goes to whichever rule it meets first"
	expect_doctor "Docker, netavark and firewalld tables" 3 "firewall-cmd --permanent --remove-forward-port"
	vp_check "without root: check says once that it did not read the host's rules" \
		check_unprivileged
	vp_check "the tables removed" tables_remove

	vp_doctor_expect_healthy "every other tool's rule removed"
	expect_check "every other tool's rule removed"
	vp_check "the doctor says nothing of conflicts" \
		bash -c "! grep -q '\"check\":\"conflicts' '$VP_DOCTOR_OUT'"

	meta_clash
	vp_doctor_expect_fail "guest2's metadata forwards 2222, guest1's table line too" \
		conflicts.forwards "give one of the two another host port"
	vp_check "the doctor names both places" grep -qF \
		"domain guest2 metadata forward 1: host port 2222/tcp is already forwarded at $(at 1) (guest1): this forward is not installed" \
		"$VP_DOCTOR_OUT"
	vp_write_status guest2
	meta_clash_guests

	vp_bg "$VP_HOST" socat TCP4-LISTEN:2399,reuseaddr,fork SYSTEM:true
	vp_check "a host process listens on 2399" wait_bound 2399
	expect_check "a host process on 2399" \
		"$(at 5): warning: a local process listens on tcp port 2399 at 0.0.0.0: the forward's DNAT takes its traffic"
	vp_doctor_expect_healthy "a host process on 2399: a warning, no failure"
	vp_check "a host process on 2399: the doctor warns of it" grep -qF \
		'"check":"conflicts.listener","subject":"guest2 tcp 2399","ok":true,"detail":"warning: a local process listens on tcp port 2399 at 0.0.0.0' \
		"$VP_DOCTOR_OUT"
	vp_check_eq "a host process on 2399: only that forward is warned of" \
		"$(grep -c '"check":"conflicts.listener"' "$VP_DOCTOR_OUT")" 1
	vp_doctor_stop
}

# meta_clash [GUEST PORT]: GUEST's status file (guest2) with a forward of host PORT (2222) in
# its <metadata>.
meta_clash() {
	local el='<metadata><portfwd:forwards xmlns:portfwd="https://virt-portfwd.example/xmlns/1">'
	el+="<portfwd:forward proto=\"tcp\" host=\"${2:-2222}\" guest=\"22\"/></portfwd:forwards></metadata>"
	sed -i "s|</domain>|$el</domain>|" "$VP_ROOT/run/libvirt/qemu/${1:-guest2}.xml"
}

# Both guests' metadata forward 2451, which the table does not have: the hook takes each (it
# reads one guest's metadata at a time), the doctor names the clash once, at guest2's.
meta_clash_guests() {
	meta_clash guest1 2451
	meta_clash guest2 2451
	vp_check "apply installs both guests' 2451" vp_quiet vp_cli apply
	vp_doctor_expect_fail "guest1's and guest2's metadata both forward 2451" \
		conflicts.forwards "give one of the two another host port"
	vp_check_eq "the doctor tells that clash once" \
		"$(grep -c '"check":"conflicts.forwards"' "$VP_DOCTOR_OUT")" 1
	vp_check "the doctor names both guests' forwards" grep -qF \
		"domain guest2 metadata forward 1: host port 2451/tcp is forwarded at domain guest1 metadata forward 1 (guest1) too: both are installed" \
		"$VP_DOCTOR_OUT"
	vp_write_status guest1
	vp_write_status guest2
	vp_check "apply takes them away again" vp_quiet vp_cli apply
}

# wait_bound PORT: until the host namespace has a TCP socket on PORT (~5 s).
wait_bound() {
	local _ hex
	hex=$(printf ':%04X ' "$1")
	for _ in $(seq 50); do
		ip netns exec "$VP_HOST" cat /proc/net/tcp | grep -q "^ *[0-9]*: [0-9A-F]*$hex" &&
			return 0
		sleep 0.1
	done
	return 1
}

# `check` as nobody: the one notice, and no warning of another tool.
check_unprivileged() {
	local d out
	d=$(mktemp -d -p /tmp vp-conflicts.XXXXXX) && chmod 0755 "$d" &&
		install -m 0644 "$T" "$d/forwards.conf" || return 1
	out=$(ip netns exec "$VP_HOST" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VP_BIN" check -c "$d/forwards.conf" 2>&1 >/dev/null)
	rm -rf "$d"
	[ "$(grep -c "the host's firewall rules were not read (not root)" <<<"$out")" = 1 ] &&
		! grep -q "DNATs tcp" <<<"$out"
}
