# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The library of the data-path tests, split by concern under lib/: TAP output and speed checks
# (tap.sh), the world of namespaces and its probes (world.sh), libvirt's own rules per host kind
# (libvirt.sh), the fixture tree and the hook run against it (fixtures.sh), and rulesets
# (ruleset.sh). Source this file, then call vp_init_kind KIND (run-case.sh does both).

VP_LIB=$(dirname "${BASH_SOURCE[0]}")/lib
. "$VP_LIB/tap.sh"
. "$VP_LIB/world.sh"
. "$VP_LIB/libvirt.sh"
. "$VP_LIB/fixtures.sh"
. "$VP_LIB/ruleset.sh"
