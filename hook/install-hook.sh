#!/bin/sh
# meson install script: make the installed binary libvirt's qemu and network hook.
# Never overwrite a hook the administrator already has: libvirt >= 6.5 also runs every
# executable in qemu.d/ and network.d/, so we go there instead.
set -eu
bin=$1        # installed binary, absolute
hookdir=$2    # /etc/libvirt/hooks
dest=${DESTDIR:-}
mkdir -p "$dest$hookdir"

ours() {  # is $1 already our hook (a link to the binary, or the binary itself)?
	[ -L "$1" ] && [ "$(readlink "$1")" = "$bin" ] && return 0
	[ -f "$1" ] && [ -f "$dest$bin" ] && cmp -s "$1" "$dest$bin"
}

install_hook() {  # $1 = qemu | network
	target="$dest$hookdir/$1"
	if [ ! -e "$target" ] && [ ! -L "$target" ]; then
		ln -s "$bin" "$target"
		echo "virt-portfwd: installed $hookdir/$1 -> $bin"
	elif ours "$target"; then
		echo "virt-portfwd: $hookdir/$1 is already virt-portfwd"
	else
		mkdir -p "$target.d"
		ln -sfn "$bin" "$target.d/virt-portfwd"
		echo "virt-portfwd: $hookdir/$1 is another program, left alone;" \
		     "installed $hookdir/$1.d/virt-portfwd (libvirt >= 6.5 runs both)"
	fi
}

install_hook qemu
install_hook network
echo "virt-portfwd: restart libvirtd once so it picks up the hooks" \
     "(systemctl restart libvirtd, or virtqemud and virtnetworkd on modular daemons)"
