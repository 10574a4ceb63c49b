#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What packaging tools read from the binary (dpkg-shlibdeps, rpm's generators): libxml2 and
# json-c as NEEDED libraries, and every library loaded on demand (lib/dl.h) by its soname in a
# .note.dlopen ELF note (owner FDO, type 0x407c0c0a, a JSON payload). TAP.
#   test-linkage.sh BINARY SONAME...   (the sonames meson found for the on-demand libraries)
set -u
bin=$1
shift
n=0 failed=0

ok() {  # CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

for tool in readelf objcopy; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP no $tool"; exit 0; }
done
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in libxml2 libjson-c; do
	grep -q -x "$lib\.so\.[0-9]*" <<<"$needed"
	ok $? "$lib is NEEDED (NEEDED: $(echo $needed))"
done
for lib in libnftables libip4tc libip6tc libvirt libsystemd; do
	! grep -q "^$lib\.so" <<<"$needed"
	ok $? "$lib is not NEEDED: loaded on demand"
done

notes=$(readelf --notes "$bin" | sed -n '/\.note\.dlopen/,/^$/p')
count=$(grep -c -E '^ *FDO .*(0x407c0c0a|DLOPEN)' <<<"$notes")
if [ $# -gt 0 ]; then
	[ "$count" -ge 1 ]
	ok $? "the .note.dlopen section holds FDO dlopen notes ($count)"
else
	[ "$count" -eq 0 ]
	ok $? "this build loads no library on demand, and has no dlopen note ($count)"
fi
payload=$(mktemp)
trap 'rm -f "$payload"' EXIT
objcopy -O binary --only-section=.note.dlopen "$bin" "$payload" 2>/dev/null
for soname in "$@"; do
	tr '\0' '\n' <"$payload" | grep -q -F "\"soname\":[\"$soname\"]"
	ok $? "the dlopen note names $soname"
done
tr '\0' '\n' <"$payload" | grep -o -E '"soname":\["[^"]*"\]' | grep -v -q -F -f <(printf '"%s"\n' "$@" ' ')
[ $? -ne 0 ]
ok $? "the dlopen note names no other soname"
echo "1..$n"
exit $failed
