# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-xml-entities: domain XML with an external entity, an external DTD, parameter
# entities, a billion laughs or a quadratic blowup is refused quickly, installs nothing, and
# makes the hook neither open the file nor connect to the address they name.
# kinds: nft legacy nftables

# shellcheck source=../lib/hostile.sh
. "$VP_LIB/hostile.sh"

# The tripwires: a listener in the client namespace (reachable from the host) that notes each
# connection in HITS, and a FIFO whose opening for reading its writer notices (FIFO.opened).
entities_tripwires() {  # HITS FIFO
	local hits=$1 fifo=$2 _
	vp_bg "$VP_CLIENT" socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:"echo hit >>$hits"
	mkfifo "$fifo" || vp_die "mkfifo $fifo failed"
	bash -c 'echo secret >"$1" && touch "$1.opened"' _ "$fifo" &
	VP_PIDS+=("$!")
	for _ in $(seq 50); do
		ip netns exec "$VP_HOST" socat -T 1 /dev/null \
			"TCP:$VP_CLIENT_ADDR:8081,connect-timeout=1" 2>/dev/null && break
		sleep 0.1
	done
	# The probe's own hit is written by a forked shell: let it land, then forget it.
	sleep 0.3
	rm -f "$hits"
}

# entities_doctype KIND FIFO: the DTD of the attack KIND, then a line of the entity references
# it makes the <description> carry (maybe empty).
entities_doctype() {
	local url=http://$VP_CLIENT_ADDR:8081 i body ten _
	case $1 in
	external-entity)
		echo "<!DOCTYPE domain [<!ENTITY xf SYSTEM \"file://$2\">" \
			"<!ENTITY xh SYSTEM \"$url/e\">]>"
		echo '&xf;&xh;'
		;;
	external-dtd)
		echo "<!DOCTYPE domain SYSTEM \"$url/evil.dtd\">"
		echo
		;;
	parameter-entity)
		echo "<!DOCTYPE domain [<!ENTITY % p SYSTEM \"$url/p.dtd\"> %p;" \
			"<!ENTITY % f SYSTEM \"file://$2\"> %f;]>"
		echo
		;;
	billion-laughs)
		body='<!DOCTYPE domain [<!ENTITY a0 "lol">'
		for i in 1 2 3 4 5 6 7 8 9; do
			ten=
			for _ in 1 2 3 4 5 6 7 8 9 10; do ten="$ten&a$((i - 1));"; done
			body="$body<!ENTITY a$i \"$ten\">"
		done
		echo "$body]>"
		echo '&a9;'
		;;
	quadratic)
		echo "<!DOCTYPE domain [<!ENTITY q \"$(head -c 100000 /dev/zero | tr '\0' q)\">]>"
		printf '&q;%.0s' {1..2000}
		echo
		;;
	esac
}

run() {
	local f=$VP_TMP/xxe.xml fifo=$VP_TMP/secret.fifo hits=$VP_TMP/xxe.hits rc k opened=0 dtd
	hostile_baseline big
	hostile_table "guest1 tcp 2222 22"
	entities_tripwires "$hits" "$fifo"
	for k in external-entity external-dtd parameter-entity billion-laughs quadratic; do
		dtd=$(entities_doctype "$k" "$fifo")
		{
			sed -n 1p <<<"$dtd"
			hostile_domain_xml guest1 "$VP_G1_UUID" "" \
				"<description>$(sed -n 2p <<<"$dtd")</description>"
		} >"$f"
		hostile_hook_big "$f" started
		rc=$?
		vp_check_eq "domain XML with $k: exit 0" "$rc" 0
		vp_check_ratio "domain XML with $k: done in ms (max RSS $(hostile_rss) KiB)" "$VP_MS" \
			"$HOSTILE_BASE_MS" 80
		vp_check_eq "domain XML with $k: refused, nothing installed" "$(vp_g1_rules)" 0
		vp_hook guest1 stopped end
	done
	# Time for a late open or connection to show.
	sleep 0.5
	[ -e "$fifo.opened" ] && opened=1
	vp_check_eq "external entities: the FIFO named by them was never opened" "$opened" 0
	vp_check_eq "external entities: no connection to $VP_CLIENT_ADDR:8081 was made" \
		"$(cat "$hits" 2>/dev/null)" ""
	hostile_check_unchanged "XML with DTDs and entities"
}
