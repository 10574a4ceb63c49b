# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-names: domain names with spaces, quotes, a newline, shell and format metacharacters,
# non-ASCII, 200 characters: each guest gets exactly its forwards, no part of a name reaches a
# rule, a command or a forged log line, and of two long names differing in their last character,
# stopping one leaves the other's rules alone.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

NAMES=(
	"web server \"prod\" 'x' & <y>"
	$'line one\nvirt-portfwd: FORGED log line'
	"gäst-ü-日本-🚀"
	"$(printf 'a%.0s' {1..199})1"
	"$(printf 'a%.0s' {1..199})2"
	"\$(touch /tmp/vp-pwned-$$);\`touch /tmp/vp-pwned-$$\`|x"
	"%s%s%n%x%p"
	"-j ACCEPT --comment x"
	$'tab\there'
)
name_uuid() { printf 'c0ffee00-0000-4000-8000-0000000002%02d' "$1"; }

# Every guest nI (NAMES[I]) running, its forward 3100+I by UUID; the names that are one token of
# the table (non-ASCII, the two long ones) also by name, on 3200+I.
names_start() {
	local i lines=() bad=
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		hostile_domain_xml "${NAMES[$i]}" "$(name_uuid "$i")" >"$VP_FIX/n$i.xml"
		vp_write_status "n$i"
		lines+=("$(name_uuid "$i") tcp $((3100 + i)) 22 ip=$VP_G1_IP")
	done
	lines+=("${NAMES[2]} tcp 3202 22 ip=$VP_G1_IP" "${NAMES[3]} tcp 3203 22 ip=$VP_G1_IP"
		"${NAMES[4]} tcp 3204 22 ip=$VP_G1_IP")
	hostile_table "${lines[@]}"
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		vp_hook_env "n$i" started begin || bad="$bad n$i"
	done
	vp_check_eq "hostile names: every started exited 0" "$bad" ""
}

names_check_forwards() {
	local i bad= want
	for i in $(seq 3100 $((3099 + ${#NAMES[@]}))) 3202 3203 3204; do
		[ "$(vp_tcp_get "$VP_CLIENT" "$VP_HOST_ADDR" "$i")" = guest1 ] || bad="$bad $i"
	done
	vp_check_eq "hostile names: every forward reaches guest1 (none lost to a collision)" "$bad" ""
	bad=
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		# Named twice: two forwards to guest port 22 share one hairpin rule.
		case $i in 2 | 3 | 4) want=7 ;; *) want=4 ;; esac
		[ "$(vp_count_owned "$(name_uuid "$i")")" = "$want" ] || bad="$bad n$i"
	done
	vp_check_eq "hostile names: each guest owns exactly its rules (4, or 7 when named twice)" \
		"$bad" ""
}

names_check_inert() {
	local rules
	rules=$(vp_ruleset_raw 2>/dev/null)
	vp_check_eq "hostile names: no part of any name made it into a rule" \
		"$(grep -c -e FORGED -e 'gäst' -e aaaaaaaaaa -e pwned -e prod -e '%n' <<<"$rules")" 0
	vp_check_eq "hostile names: the shell metacharacters ran nothing" \
		"$(ls "/tmp/vp-pwned-$$" 2>/dev/null)" ""
	vp_check_eq "hostile names: a newline in a name cannot forge a log line" \
		"$(grep -c '^virt-portfwd: FORGED' "$VP_TMP/hook.stderr")" 0
	vp_check_eq "hostile names: the state file of the newline name is its 4 fields and 1 address" \
		"$(grep -c -v '^addr ' "$HOSTILE_STATE/$(name_uuid 1)") $(grep -c '^addr ' \
		"$HOSTILE_STATE/$(name_uuid 1)")" "4 1"
	vp_check "hostile names: status lists them, exit 0" vp_quiet vp_cli_env -- status
	vp_check_eq "hostile names: a newline in a name cannot forge a line of status" \
		"$(vp_cli_env -- status | grep -c '^virt-portfwd: FORGED')" 0
	vp_check_eq "hostile names: ... nor of the doctor" \
		"$(vp_cli_env -- doctor | grep -c '^virt-portfwd: FORGED')" 0
}

# One of the two long names that differ only in their last character goes; the other stays.
names_check_long() {
	local saved C=$VP_CLIENT HA=$VP_HOST_ADDR
	saved=$(vp_rules_owned "$(name_uuid 4)")
	vp_hook_env n3 stopped end
	vp_check_eq "long names: stopping ...1 leaves ...2's rules as they were" \
		"$(vp_rules_owned "$(name_uuid 4)")" "$saved"
	vp_check_eq "long names: ...1 has no rule left" "$(vp_count_owned "$(name_uuid 3)")" 0
	vp_check_eq "long names: 3204 still reaches guest1" "$(vp_tcp_get "$C" "$HA" 3204)" guest1
	vp_check_eq "long names: 3203 is closed" "$(vp_tcp_get "$C" "$HA" 3203)" ""
}

run() {
	local i
	names_start
	names_check_forwards
	names_check_inert
	names_check_long
	for ((i = 0; i < ${#NAMES[@]}; i++)); do
		vp_hook_env "n$i" stopped end
		rm -f "$VP_ROOT/run/libvirt/qemu/n$i.xml"
	done
	hostile_check_unchanged "hostile names, all stopped"
}
