#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The firewalld watcher runs `virt-portfwd apply` after each Reloaded signal, and only then.
# gdbus and virt-portfwd are stand-ins: no D-Bus or firewalld needed.
set -u
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/gdbus" <<'EOS'
#!/bin/sh
echo "/org/fedoraproject/FirewallD1: org.fedoraproject.FirewallD1.config.Updated ()"
echo "/org/fedoraproject/FirewallD1: org.fedoraproject.FirewallD1.Reloaded ()"
echo "/org/fedoraproject/FirewallD1: org.fedoraproject.FirewallD1.PanicModeEnabled ()"
EOS
cat >"$tmp/virt-portfwd" <<EOS
#!/bin/sh
echo "\$*" >>"$tmp/calls"
EOS
chmod +x "$tmp/gdbus" "$tmp/virt-portfwd"
GDBUS=$tmp/gdbus VIRT_PORTFWD=$tmp/virt-portfwd VIRT_PORTFWD_FIREWALLD_DELAYS="0 0" \
	"$VP_SRCDIR/conf/virt-portfwd-firewalld"
calls=$(cat "$tmp/calls" 2>/dev/null)
if [ "$calls" = "apply
apply" ]; then
	echo "ok 1 - one Reloaded signal: virt-portfwd apply run twice (after libvirt, and once more)"
	echo "1..1"
	exit 0
fi
echo "not ok 1 - one Reloaded signal: expected two 'apply' calls, got: $calls"
echo "1..1"
exit 1
