#!/bin/sh
# meson install script: install the example forward table when there is none. Never overwrite.
set -eu
confdir=$1   # e.g. /etc/virt-portfwd (relative to prefix when not absolute)
case $confdir in /*) ;; *) confdir=$MESON_INSTALL_PREFIX/$confdir ;; esac
dest=${DESTDIR:-}$confdir
mkdir -p "$dest/forwards.d"
chmod 0755 "$dest" "$dest/forwards.d"
if [ ! -e "$dest/forwards.conf" ]; then
	install -m 0644 "$dest/examples/forwards.conf" "$dest/forwards.conf"
	echo "virt-portfwd: installed the example table $confdir/forwards.conf (all lines commented)"
else
	echo "virt-portfwd: keeping the existing $confdir/forwards.conf"
fi
