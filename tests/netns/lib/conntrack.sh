# shellcheck shell=bash disable=SC2034 # VP_CT_TOOK is read by the cases
# SPDX-License-Identifier: GPL-2.0-or-later
#
# conntrack-*: flows that outlive a change of the table. Long-lived UDP streams from one fixed
# source port, with a sink per guest port that records what arrives; TCP connections held open
# from the client, written to on demand, that record their own end. Which sink grows and which
# connection ends are the outcomes checked, never rule text.

# vp_ct_sink NS PORT NAME [6]: every datagram to NS's UDP PORT (IPv6 with 6) appended to
# $VP_TMP/NAME.sink.
vp_ct_sink() {
	: >"$VP_TMP/$3.sink"
	vp_bg "$1" socat -u "UDP${4:-}-RECV:$2,reuseaddr" "OPEN:$VP_TMP/$3.sink,append"
}

# vp_ct_stream PORT SPORT [6]: the client sends a datagram to the host's PORT (its IPv6 address
# with 6) every 100 ms, always from its source port SPORT (one conntrack entry for as long as it
# sends; unconnected, so that an ICMP error while no forward has the port does not stop it).
vp_ct_stream() {
	local to=$VP_HOST_ADDR
	[ -z "${3:-}" ] || to="[$VP6_HOST_ADDR]"
	vp_bg "$VP_CLIENT" bash -c "while :; do echo tick; sleep 0.1; done |
		socat -u - UDP${3:-}-SENDTO:$to:$1,sourceport=$2"
}

vp_ct_size() { stat -c %s "$VP_TMP/$1.sink"; }

# vp_ct_grows NAME TENTHS: whether sink NAME grows within TENTHS tenths of a second; how many
# tenths it took in VP_CT_TOOK.
vp_ct_grows() {
	local before i
	before=$(vp_ct_size "$1")
	for i in $(seq "$2"); do
		sleep 0.1
		VP_CT_TOOK=$i
		[ "$(vp_ct_size "$1")" -gt "$before" ] && return 0
	done
	return 1
}

# vp_ct_still NAME: whether sink NAME stays the same for a second.
vp_ct_still() {
	local before
	before=$(vp_ct_size "$1")
	sleep 1
	[ "$(vp_ct_size "$1")" -eq "$before" ]
}

# vp_ct_echo NS PORT: a TCP echo server on NS's PORT.
vp_ct_echo() {
	vp_bg "$1" socat "TCP-LISTEN:$2,fork,reuseaddr" EXEC:cat
}

# vp_ct_connect NAME PORT: a TCP connection from the client to the host's PORT, kept open; lines
# written with vp_ct_say come back in $VP_TMP/NAME.out when it echoes; socat says why it ended
# in $VP_TMP/NAME.err, and "closed STATUS" is written to
# $VP_TMP/NAME.end when the connection ends. The writing end of its input is fd VP_CT_FD[NAME].
declare -A VP_CT_FD
vp_ct_connect() {
	local name=$1 fifo=$VP_TMP/$1.in fd
	mkfifo "$fifo" && : >"$VP_TMP/$name.out" && : >"$VP_TMP/$name.end" || return 1
	vp_bg "$VP_CLIENT" bash -c "socat -d -d - TCP:$VP_HOST_ADDR:$2,connect-timeout=2 \
		<'$fifo' >'$VP_TMP/$name.out' 2>'$VP_TMP/$name.err'; echo closed \$? >'$VP_TMP/$name.end'"
	exec {fd}>"$fifo"
	VP_CT_FD[$name]=$fd
}

vp_ct_say() {  # NAME LINE
	echo "$2" >&"${VP_CT_FD[$1]}"
}

# vp_ct_echoed NAME LINE: whether LINE came back on NAME within 3 s.
vp_ct_echoed() {
	local _
	for _ in $(seq 30); do
		grep -qx "$2" "$VP_TMP/$1.out" && return 0
		sleep 0.1
	done
	return 1
}

# vp_ct_ended NAME: whether connection NAME ended within 3 s (in VP_CT_TOOK tenths).
vp_ct_ended() {
	local i
	for i in $(seq 0 30); do
		VP_CT_TOOK=$i
		[ -s "$VP_TMP/$1.end" ] && return 0
		sleep 0.1
	done
	return 1
}

vp_ct_open() { [ ! -s "$VP_TMP/$1.end" ]; }  # NAME: not ended (yet)

# vp_ct_timestamps: the host's conntrack notes when each entry began (per namespace).
vp_ct_timestamps() {
	ip netns exec "$VP_HOST" sysctl -qw net.netfilter.nf_conntrack_timestamp=1
}

# vp_ct_age SPORT: the age in seconds of the host's conntrack entry of the client's flow from
# SPORT, IPv4 or IPv6 (vp_ct_timestamps first); empty if there is none.
vp_ct_age() {
	ip netns exec "$VP_HOST" cat /proc/net/nf_conntrack |
		grep " sport=$1 " | sed -n 's/.*delta-time=\([0-9]*\).*/\1/p' |
		head -n 1
}

# vp_ct_oldest SPORT: the age in seconds of the oldest of the host's conntrack entries of the
# client's flows from SPORT (vp_ct_timestamps first); empty if there is none.
vp_ct_oldest() {
	ip netns exec "$VP_HOST" cat /proc/net/nf_conntrack |
		grep " sport=$1 " | sed -n 's/.*delta-time=\([0-9]*\).*/\1/p' | sort -n | tail -n 1
}

# vp_ct_settled: the flows a hook's change ends are ended: the qemu hook leaves that to a
# detached child that holds our lock until it is done, so this waits (10 s at most) for the
# lock, as the next change of any guest does.
vp_ct_settled() {
	local lock=$VP_ROOT/run/virt-portfwd/lock
	[ ! -e "$lock" ] || flock -w 10 "$lock" true
}

# vp_ct_move_start 4|6: the start of conntrack-udp-move(6): sinks on guest1's 5001 (g1-moved),
# guest2's 5001 (g2-moved) and guest1's 5002 (g1-other); the case's `table guest1`; both guests
# started with their status files; streams from source ports 40000 to 5000 and 40002 to 5002,
# both reaching guest1.
vp_ct_move_start() {
	local v=
	[ "$1" = 4 ] || v=$1
	vp_ct_sink "$VP_GUEST1" 5001 g1-moved "$v"
	vp_ct_sink "$VP_GUEST2" 5001 g2-moved "$v"
	vp_ct_sink "$VP_GUEST1" 5002 g1-other "$v"
	table guest1
	vp_hook_ok guest1 started
	vp_hook_ok guest2 started
	vp_write_status guest1
	vp_write_status guest2
	vp_ct_timestamps
	vp_ct_stream 5000 40000 "$v"
	vp_ct_stream 5002 40002 "$v"
	vp_check "before: the stream to 5000 reaches guest1" vp_ct_grows g1-moved 30
	vp_check "before: the stream to 5002 reaches guest1" vp_ct_grows g1-other 30
}
