# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the doctor-* cases share: their world (dual stack with NAT66, one IPv6 forward), the
# table, guest1 and guest2 started and stopped, and `virt-portfwd doctor` run and judged: which
# checks fail, and the fix it names. Sourced by those case files (run-case.sh has loaded lib.sh).

. "$VP_LIB/ipv6.sh"

VP_DOCTOR_OUT=$VP_TMP/doctor.out
# The iptables variant our rules must not be in.
VP_DOCTOR_OTHER=nft
[ "$VP_KIND" != nft ] || VP_DOCTOR_OTHER=legacy

vp_doctor_table() {
	cat <<-'EOF'
	guest1    tcp    2222        22
	guest1    tcp    [::]:2222   22
	guest1    tcp    8080-8081   80-81
	guest2    tcp    2322        22
	guest2    tcp    2399        99
	EOF
}

vp_doctor_write_leases() {  # GUEST1-IPV4
	vp_write_leases46 "$VP_G1_MAC=$1" "$VP_G1_MAC=$VP6_G1_IP" "$VP_G2_MAC=$VP_G2_IP"
}

# vp_doctor_setup: the doctor's world, for a case's setup(): dual stack, the IPv6 subnet NAT'd,
# the table, the leases.
vp_doctor_setup() {
	vp_ipv6_world nat
	vp_doctor_table | vp_write_table
	vp_doctor_write_leases "$VP_G1_IP"
}

vp_doctor_hooks() {  # OP SUBOP: the hook for guest1, then guest2
	vp_hook guest1 "$1" "$2" && vp_hook guest2 "$1" "$2"
}

# vp_doctor_start: guest1 and guest2 started, running (libvirt's status files).
vp_doctor_start() {
	vp_check "guest1 and guest2 started" vp_doctor_hooks started begin
	vp_write_status guest1
	vp_write_status guest2
}

# vp_doctor_start_healthy: vp_doctor_start, and the doctor finds nothing wrong before the case
# breaks something (so that what fails after is the breakage's doing).
vp_doctor_start_healthy() {
	vp_doctor_start
	vp_doctor_expect_healthy "before the breakage"
}

# vp_doctor_stop: guest1 and guest2 stopped, their status files gone. (The doctor's packet
# counters, <uuid>.doctor in the state directory, go with the guest's state.)
vp_doctor_stop() {
	rm -f "$VP_ROOT/run/libvirt/qemu/guest1.xml" "$VP_ROOT/run/libvirt/qemu/guest2.xml"
	vp_check "guest1 and guest2 stopped" vp_doctor_hooks stopped end
}

# vp_doctor ARGS...: the doctor's stdout in $VP_DOCTOR_OUT, its exit status in VP_DOCTOR_RC.
vp_doctor() {
	vp_cli doctor "$@" >"$VP_DOCTOR_OUT"
	VP_DOCTOR_RC=$?
}

# The checks that failed in the last `doctor --json` (one object per line), sorted, unique.
vp_doctor_failed() {
	sed -n 's/^{"check":"\([^"]*\)",.*"ok":false,.*/\1/p' "$VP_DOCTOR_OUT" | sort -u |
		tr '\n' ' ' | sed 's/ $//'
}

vp_doctor_fix_of() {  # CHECK: the fix of its first failure in the last `doctor --json`
	sed -n "s/^{\"check\":\"$1\",.*\"ok\":false,.*\"fix\":\"\\(.*\\)\"},\\{0,1\\}\$/\\1/p" \
		"$VP_DOCTOR_OUT" | head -n 1
}

# vp_doctor_expect_fail DESCRIPTION "CHECK ..." FIX-TEXT [ARGS...]: `doctor --json ARGS` exits
# 1, exactly these checks fail, and the fix of the first one contains FIX-TEXT.
vp_doctor_expect_fail() {
	local desc=$1 want=$2 fix=$3 got
	shift 3
	vp_doctor --json "$@"
	got=$(vp_doctor_failed)
	vp_check_eq "$desc: the doctor exits 1" "$VP_DOCTOR_RC" 1
	if [ "$got" = "$want" ]; then
		vp_ok "$desc: exactly $want fail"
	else
		vp_not_ok "$desc: exactly $want fail" "got: $got" \
			"$(grep -F '"ok":false' "$VP_DOCTOR_OUT")"
	fi
	if vp_doctor_fix_of "${want%% *}" | grep -qF -- "$fix"; then
		vp_ok "$desc: the fix says '$fix'"
	else
		vp_not_ok "$desc: the fix says '$fix'" "fix: $(vp_doctor_fix_of "${want%% *}")"
	fi
}

vp_doctor_expect_healthy() {  # DESCRIPTION [ARGS...]
	local desc=$1
	shift
	vp_doctor --json "$@"
	if [ "$VP_DOCTOR_RC" = 0 ] && [ -z "$(vp_doctor_failed)" ]; then
		vp_ok "$desc: every check passes, exit 0"
	else
		vp_not_ok "$desc: every check passes, exit 0" "exit $VP_DOCTOR_RC" \
			"$(grep -F '"ok":false' "$VP_DOCTOR_OUT")"
	fi
}

# ---------------------------------------------------------------------------------------------
# The other iptables variant (VP_DOCTOR_OTHER), for the cases that put rules of ours there.

# vp_doctor_other_tables_exist: on kind nft, the legacy tables made to exist before the
# starting dump. A legacy table, once made in a namespace, stays there (empty) for its life, and
# from then on iptables-nft-save warns "iptables-legacy tables present" on stderr, which the
# snapshots keep: so the warning is in the starting dump as well as at the end, and the end
# check forgives it as a warning the listing gave at the start. The other kinds' listings do not
# show the other variant's tables.
vp_doctor_other_tables_exist() {
	[ "$VP_KIND" = nft ] || return 0
	# shellcheck disable=SC2015 # vp_die exits
	vp_h iptables-legacy -w -t filter -S >/dev/null &&
		vp_h ip6tables-legacy -w -t filter -S >/dev/null ||
		vp_die "cannot make the legacy tables"
}

# vp_doctor_save TOOL: TOOL (iptables-nft-save, iptables-legacy-save, ...) in the host
# namespace, without iptables-nft-save's warning that legacy tables exist: they do, here.
vp_doctor_save() {
	{ vp_h "$1" 2>&1 >&3 3>&- | grep -v '^# Warning: ip6\{0,1\}tables-legacy tables present' >&2
		return "${PIPESTATUS[0]}"; } 3>&1
}

# vp_doctor_check_other_clean: nothing of ours is left in the other variant's tables (the
# wrapper's end checks list this kind's tables only).
vp_doctor_check_other_clean() {
	local o=$VP_DOCTOR_OTHER n
	n=$({ vp_doctor_save "iptables-$o-save"; vp_doctor_save "ip6tables-$o-save"; } |
		grep -c -i -e virt-portfwd -e virt_portfwd)
	vp_check_eq "nothing of ours is left in the iptables-$o tables" "$n" 0
}
