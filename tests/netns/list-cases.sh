#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# list-cases.sh: one line "CASE KIND" for each data-path case (cases/CASE.sh) and each host kind
# it runs on: its line "# kinds: ..." (default: nft legacy nftables). meson.build reads this.
set -eu
cd "$(dirname "$0")/cases"
for f in *.sh; do
	[ -e "$f" ] || continue
	kinds=$(sed -n 's/^# kinds: *//p' "$f" | head -n 1)
	for k in ${kinds:-nft legacy nftables}; do
		echo "${f%.sh} $k"
	done
done
