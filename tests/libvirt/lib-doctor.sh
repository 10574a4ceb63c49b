# `virt-portfwd doctor` against the real libvirtd (sourced by lib.sh): run it in HOST as an
# administrator would, and read its --json answer (an array of {check, subject, ok, detail, fix},
# ok true, false, or null when skipped) with jq.

# vp_doctor ARGS...: the answer in $VP_RUN/doctor.out, stderr appended to hook-manual.log (for
# the diagnostics), the exit status in VP_DOCTOR_RC.
vp_doctor() {
	vp_in_host /usr/local/sbin/virt-portfwd doctor "$@" >"$VP_RUN/doctor.out" 2>>"$VP_RUN/hook-manual.log"
	VP_DOCTOR_RC=$?
}

# The last --json answer is a JSON array of report lines whose every "ok" is true or null.
vp_doctor_json_ok() {
	jq -e 'type == "array" and length > 0 and all(.[]; type == "object" and has("check") and
		(.ok == true or .ok == null))' "$VP_RUN/doctor.out" >/dev/null 2>&1
}

# "N ok, M skipped, K failed" of the last --json answer.
vp_doctor_tally() {
	jq -r '"\([.[] | select(.ok == true)] | length) ok, \([.[] | select(.ok == null)] | length) skipped, " +
		"\([.[] | select(.ok == false)] | length) failed"' "$VP_RUN/doctor.out" 2>/dev/null
}

# The checks that failed in the last --json answer: sorted, unique, space separated.
vp_doctor_failed() {
	jq -r '[.[] | select(.ok == false) | .check] | unique | join(" ")' "$VP_RUN/doctor.out" 2>/dev/null
}

# vp_doctor_subjects CHECK STATE: the subjects of CHECK's lines whose ok is STATE (true, false or
# null), one per line.
vp_doctor_subjects() {
	jq -r --arg c "$1" --argjson st "$2" '.[] | select(.check == $c and .ok == $st) | .subject' \
		"$VP_RUN/doctor.out" 2>/dev/null
}

# vp_doctor_field CHECK SUBJECT FIELD: that field of the first line of CHECK about SUBJECT, as
# text ("true", "null", the detail...); nothing when there is no such line.
vp_doctor_field() {
	jq -r --arg c "$1" --arg s "$2" --arg f "$3" \
		'first(.[] | select(.check == $c and .subject == $s)) | .[$f] | tostring' \
		"$VP_RUN/doctor.out" 2>/dev/null
}

# vp_doctor_fix CHECK: the fix of the first failure of CHECK.
vp_doctor_fix() {
	jq -r --arg c "$1" 'first(.[] | select(.check == $c and .ok == false)) | .fix // ""' \
		"$VP_RUN/doctor.out" 2>/dev/null
}

# The failed lines of the last answer (or the whole answer when it is not JSON), as TAP notes.
vp_doctor_show() {
	vp_note "doctor exit ${VP_DOCTOR_RC:-?}; failed lines:"
	jq -c '.[] | select(.ok == false)' "$VP_RUN/doctor.out" 2>/dev/null | sed 's/^/#   /' ||
		sed 's/^/#   /' "$VP_RUN/doctor.out"
}

# vp_doctor_healthy DESCRIPTION: `doctor --json` exits 0 and every check passes or is skipped.
vp_doctor_healthy() {
	local rc
	vp_doctor --json
	[ "$VP_DOCTOR_RC" = 0 ] && vp_doctor_json_ok
	rc=$?
	vp_ok $rc "$1: the doctor exits 0 ($VP_DOCTOR_RC), every check ok or skipped ($(vp_doctor_tally))"
	[ $rc -eq 0 ] || vp_doctor_show
	return $rc
}

# vp_doctor_expect DESCRIPTION "CHECK ..." FIX-TEXT: `doctor --json` exits 1, exactly these checks
# fail (no unrelated one), and the fix of the first names FIX-TEXT.
vp_doctor_expect() {
	local desc=$1 want=$2 fix=$3 got rc
	vp_doctor --json
	got=$(vp_doctor_failed)
	[ "$VP_DOCTOR_RC" = 1 ] && [ "$got" = "$want" ]
	rc=$?
	vp_ok $rc "$desc: the doctor exits 1 ($VP_DOCTOR_RC) and fails exactly $want (failed: ${got:-none})"
	[ $rc -eq 0 ] || vp_doctor_show
	vp_doctor_fix "${want%% *}" | grep -qF -- "$fix"
	vp_ok $? "$desc: the fix of ${want%% *} says '$fix' ($(vp_doctor_fix "${want%% *}" | cut -c1-100))"
}
