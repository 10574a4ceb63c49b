# SPDX-License-Identifier: GPL-2.0-or-later
# ssh [16]: a real SSH round trip through a forward (issue 16, item 5). g9 runs dropbear on port
# 2022 (build-image.sh; the HTTP on 22 of the other cases stays), root's only way in is a key
# pair this case makes, its public half passed on g9's kernel command line. The table gets
# `g9 tcp 2229 2022` for the case; OpenSSH's client logs in through host:2229 from the client
# namespace and from the host itself (its own address), sends data both ways and gets g9's name
# back. Without the key the login is refused, so the answer comes from an authenticated session.

SSH_PORT=2229
SSH_KEY=$VP_RUN/ssh-key

# ssh_run NS [SSH OPTIONS...] -- COMMAND: OpenSSH's client to root@HOST:SSH_PORT from NS, no
# configuration or known hosts of this machine's, never a prompt.
ssh_run() {
	local ns=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	ip netns exec "$ns" timeout 60 ssh -F /dev/null -p "$SSH_PORT" -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o ConnectTimeout=20 "${opts[@]}" "root@$HOST" "$@"
}

# ssh_name NS: g9's name read over SSH with the key, after a line sent through the session and
# echoed back (both directions of the channel); up to three tries, a liveness allowance for a
# slow guest.
ssh_name() {
	local out try
	for try in 1 2 3; do
		out=$(printf 'vp-ping\n' | ssh_run "$1" -i "$SSH_KEY" -- 'cat; cat /etc/vpname' 2>&1)
		[ "$out" = "vp-ping"$'\n'"g9" ] && break
	done
	printf '%s, try %d' "$(printf '%s' "$out" | tr '\n' ' ')" "$try"
	[ "$out" = "vp-ping"$'\n'"g9" ]
}

run() {
	local out blob t0
	rm -f "$SSH_KEY" "$SSH_KEY.pub"
	ssh-keygen -q -t ed25519 -N '' -C vp-e2e -f "$SSH_KEY" && blob=$(cut -d ' ' -f 2 "$SSH_KEY.pub")
	printf 'g9  tcp  %s  2022\n' "$SSH_PORT" >>"$TABLE"
	vp_define_guest 9 g9 "vpsshkey=$blob"
	t0=$(vp_ms)
	vp_start_guest g9 >/dev/null && vp_wait_ready g9
	vp_ok $? "[16] g9 booted with dropbear on 2022 and the case's key" \
		"($(($(vp_ms) - t0)) ms; table: g9 tcp $SSH_PORT 2022)"
	t0=$(vp_ms)
	out=$(ssh_name "$VP_CNS")
	vp_ok $? "[16] ssh from the client namespace to $HOST:$SSH_PORT logs in to g9 with the key," \
		"echoes a line and prints its name ('$out', $(($(vp_ms) - t0)) ms)"
	t0=$(vp_ms)
	out=$(ssh_name "$VP_HNS")
	vp_ok $? "[16] ssh from the host itself to its own $HOST:$SSH_PORT reaches g9 the same way" \
		"('$out', $(($(vp_ms) - t0)) ms)"
	out=$(ssh_run "$VP_CNS" -o PubkeyAuthentication=no -- cat /etc/vpname 2>&1 </dev/null)
	[ $? -ne 0 ] && [[ "$out" == *"Permission denied"* ]]
	vp_ok $? "[16] without the key the login is refused ('$(printf '%s' "$out" | tr '\n' ' ')')"
	guests_gone g9
	table_restore
	vp_tcp_closed "$VP_CNS" "$HOST" "$SSH_PORT"
	vp_ok $? "[16] g9 gone: host:$SSH_PORT is closed"
	rm -f "$SSH_KEY" "$SSH_KEY.pub"
}
