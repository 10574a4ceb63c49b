#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn bench.sh's measurements into a markdown table and check issue 7's targets (TAP).

    report.py RESULTS-DIR [--quick] [--out FILE] [--readme README.md]

RESULTS-DIR/machine, and per host kind RESULTS-DIR/KIND/OTHERS/ (hyperfine JSON f1.json,
f10.json, f100.json, nofwd.json; peak RSS files rss-f*, rss-nofwd; firewall I/O counts
nofwd-fwio, fwio-f*) and RESULTS-DIR/KIND/curve/K.json. The markdown goes to stdout and FILE,
the TAP lines after it. Exit 1 when a target is missed.

The quick run is part of the test command, on whatever machine runs it: it enforces what does
not depend on the machine's load (peak RSS, the firewall I/O counts) and reports its times
against the guards without failing on them. The full run enforces every target.
"""
import json
import os
import statistics
import sys

KIND_NAMES = {
    "nft": "iptables-nft",
    "legacy": "iptables-legacy",
    "nftables": "nftables",
}
FLOOR_TOOL = {
    "nft": "iptables-nft-restore --noflush",
    "legacy": "iptables-legacy-restore --noflush",
    "nftables": "nft -f",
}

# The targets of issue 7 (the full run checks these), and the limits of the quick run (the
# `bench` suite), which guard against regressions without flaking: the quick run takes the
# median of 9 runs on a 2-core machine, where repeated runs of one build moved a ratio by
# 10-30%, and more while other work loads the machine. Each guard sits well above today's
# value; anything that brings back reading the whole ruleset (an extra exec, a listing) or
# loading every library at start costs far more. Where a target is not met (growth with the table: the kernel's commit, see
# README.md), the guard sits above today's value. No firewall I/O without forwards is exact.
TARGETS = {
    "floor": {"nft": 1.2, "legacy": 1.2, "nftables": 1.0},
    "nofwd": 3.0,
    "growth": 1.3,
    "curve": 1.3,
    "rss_kib": 10 * 1024,
}
QUICK = {
    # today 0.4-0.8, 1.0-1.25, 0.75-0.95 on an idle machine; 1.46 for nftables seen while other
    # test suites loaded both cores. A guard, not a target: reading the whole ruleset again
    # cost 11x and 65x.
    "floor": {"nft": 2.0, "legacy": 2.0, "nftables": 2.0},
    # 3.9-5.0 in 6 quick runs on 2026-12-02 (0.9-1.7 for the build before, same runs): libxml2
    # and json-c are linked since, and the dynamic loader maps them with ICU and libstdc++ on
    # every exec, +2.5 ms (interleaved, median of 1000). Linking libnftables and libiptc too
    # would add another 1.4 ms (~7.5x on an idle machine, estimated); an extra exec costs more.
    "nofwd": 6.5,
    # Not measured by the quick run (an empty table, no 100-guest curve): the full run's.
    "growth": 2.5,    # 1.6-1.8 (both) in the full run; before: 11 and 65
    "curve": 2.2,     # 1.4-1.6 (both) in the full run; before: 5.5 and 48
    # today 5.3-8.9 MiB (nftables started: 8.4-8.9, libxml2 stays mapped while libnftables
    # works; 6.5-6.8 when it was unloaded first); 11.0 with 100 forwards in the full run
    "rss_kib": 12 * 1024,
}
# Peak RSS: the full run checks every guest against the target. The quick run guards
# iptables-nft and nftables: libiptc holds whole tables in memory by design
# (iptables-legacy-restore too: ~20 MiB with 10 000 rules), which shows as not met in the full run.
# Firewall I/O of `started` and `stopped` for 10 forwards: at most this many netlink sockets
# opened by the hook and programs run, counts that do not depend on the machine or its load
# (2026-12-02: each is today's value; `started` of a guest without state walks our chains for
# its tag on one socket of its own, issue 15 item 2; `stopped` opens one ctnetlink socket more:
# its forwards' connections end, lib/ct-follow.h). Reading the whole ruleset back, or an extra
# exec, shows here first. iptables-legacy talks to the kernel through libiptc's sockopts, not
# netlink.
FWIO_10 = {"nft": {"started": (8, 1), "stopped": (6, 0)},
           "legacy": {"started": (2, 0), "stopped": (1, 0)},
           "nftables": {"started": (7, 0), "stopped": (2, 0)}}
RSS_CHECKED = {"nft": (1, 10, 100), "nftables": (1, 10, 100), "legacy": (1, 10, 100)}
RSS_CHECKED_QUICK = {"nft": (1, 10, 100), "nftables": (1, 10, 100), "legacy": ()}


def load_json(path):
    with open(path) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def median_ms(res, name):
    return statistics.median(res[name]["times"]) * 1000.0


def read_pairs(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out[parts[0]] = int(parts[1])
    return out


def numeric_dirs(path):
    return sorted((int(d) for d in os.listdir(path) if d.isdigit()), key=int)


class Report:
    def __init__(self, root, quick):
        self.root = root
        self.limits = QUICK if quick else TARGETS
        self.md = []
        self.tap = []
        self.results = []
        self.quick = quick
        self.failed = 0

    def check(self, ok, desc):
        n = sum(not line.startswith("#") for line in self.tap) + 1
        self.tap.append(f"{'ok' if ok else 'not ok'} {n} - {desc}")
        self.results.append((ok, desc))
        self.failed += not ok

    def timing(self, ok, desc):
        """A check of a time: enforced by the full run, reported by the quick one."""
        if not self.quick:
            self.check(ok, desc)
            return
        self.tap.append(f"# measured: {desc}: {'within' if ok else 'BEYOND'} the guard "
                        "(a time, not enforced in the test command)")
        self.results.append((ok, desc + " (reported)"))

    def kinds(self):
        return [k for k in KIND_NAMES if os.path.isdir(os.path.join(self.root, k))]

    def world(self, kind, others):
        d = os.path.join(self.root, kind, str(others))
        w = {"f": {}, "rss": {}}
        for name in os.listdir(d):
            if name.startswith("f") and name.endswith(".json"):
                w["f"][int(name[1:-5])] = load_json(os.path.join(d, name))
            if name.startswith("rss-f"):
                w["rss"][int(name[5:])] = read_pairs(os.path.join(d, name))
        w["nofwd"] = load_json(os.path.join(d, "nofwd.json"))
        w["rss_nofwd"] = read_pairs(os.path.join(d, "rss-nofwd")).get("nofwd", 0)
        with open(os.path.join(d, "nofwd-fwio")) as f:
            w["fwio"] = [int(x) for x in f.read().split()]
        w["fwio_f"] = {}
        for name in os.listdir(d):
            if name.startswith("fwio-f"):
                with open(os.path.join(d, name)) as f:
                    w["fwio_f"][int(name[6:])] = {p[0]: tuple(int(x) for x in p[1:])
                                                   for p in (ln.split() for ln in f) if p}
        with open(os.path.join(d, "rules-present")) as f:
            w["present"] = int(f.read().strip() or 0)
        return w

    def section_floor(self):
        self.md += [
            "### The hook next to the floor (median ms)",
            "",
            "`started`/`stopped`: the hook as libvirt runs it (domain XML on stdin). floor: the "
            "same change made by one batch of the distribution's tool (add, then del). ratio: "
            "(started + stopped) / (add + del). RSS: peak of the hook, KiB (with any program "
            "it runs).",
            "",
            "| backend | rules present | forwards | started | stopped | floor add | floor del "
            "| ratio | RSS started / stopped |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind in self.kinds():
            for others in numeric_dirs(os.path.join(self.root, kind)):
                w = self.world(kind, others)
                for fw in sorted(w["f"]):
                    res = w["f"][fw]
                    s, t = median_ms(res, "started"), median_ms(res, "stopped")
                    a, d = median_ms(res, "floor-add"), median_ms(res, "floor-del")
                    ratio = (s + t) / (a + d)
                    rss = w["rss"].get(fw, {})
                    self.md.append(
                        f"| {KIND_NAMES[kind]} | {w['present']} | {fw} | {s:.1f} | {t:.1f} "
                        f"| {a:.1f} | {d:.1f} | {ratio:.2f} "
                        f"| {rss.get('started', 0)} / {rss.get('stopped', 0)} |")
                    if fw == 10:
                        lim = self.limits["floor"][kind]
                        self.timing(ratio <= lim, f"{KIND_NAMES[kind]}, {others} other rules, 10 "
                                    f"forwards: started+stopped is {ratio:.2f}x the floor "
                                    f"({FLOOR_TOOL[kind]}), limit {lim}x")
                        self.check_fwio(kind, others, w["fwio_f"].get(10, {}))
                    for op in ("started", "stopped"):
                        kib = rss.get(op, 0)
                        lim = self.limits["rss_kib"]
                        if fw in (RSS_CHECKED_QUICK if self.quick else RSS_CHECKED)[kind]:
                            self.check(0 < kib <= lim, f"{KIND_NAMES[kind]}, {others} other "
                                       f"rules, {fw} forwards: peak RSS of {op} {kib} KiB, "
                                       f"limit {lim} KiB")
        self.md.append("")

    def check_fwio(self, kind, others, seen):
        for op, want in FWIO_10[kind].items():
            got = seen.get(op)
            ok = got is not None and all(g <= w for g, w in zip(got, want))
            self.check(ok, f"{KIND_NAMES[kind]}, {others} other rules, 10 forwards: firewall "
                       f"I/O of {op} (netlink sockets, programs run): {got}, at most {want}")

    def section_nofwd(self):
        self.md += [
            "### A guest without forwards (median ms)",
            "",
            "| backend | rules present | hook | `/bin/true` | ratio | netlink sockets, programs "
            "run | RSS KiB |",
            "|---|---:|---:|---:|---:|---|---:|",
        ]
        for kind in self.kinds():
            for others in numeric_dirs(os.path.join(self.root, kind)):
                w = self.world(kind, others)
                h, t = median_ms(w["nofwd"], "nofwd"), median_ms(w["nofwd"], "true")
                ratio = h / t if t > 0 else float("inf")
                self.md.append(f"| {KIND_NAMES[kind]} | {w['present']} | {h:.2f} | {t:.2f} "
                               f"| {ratio:.1f} | {w['fwio'][0]}, {w['fwio'][1]} "
                               f"| {w['rss_nofwd']} |")
                lim = self.limits["nofwd"]
                self.timing(ratio <= lim, f"{KIND_NAMES[kind]}, {others} other rules: the hook "
                            f"for a guest without forwards is {ratio:.1f}x /bin/true, limit {lim}x")
                self.check(w["fwio"] == [0, 0], f"{KIND_NAMES[kind]}, {others} other rules: no "
                           f"firewall I/O for a guest without forwards (netlink sockets, "
                           f"programs run: {w['fwio'][0]}, {w['fwio'][1]})")
        self.md.append("")

    def section_growth(self):
        self.md += [
            "### Cost as the table grows: 10 forwards, started + stopped (median ms)",
            "",
        ]
        rows = []
        for kind in self.kinds():
            levels = numeric_dirs(os.path.join(self.root, kind))
            if not levels or levels[0] != 0:
                continue
            vals = []
            for others in levels:
                res = self.world(kind, others)["f"][10]
                vals.append((others, median_ms(res, "started") + median_ms(res, "stopped")))
            rows.append((kind, vals))
            if kind != "legacy" and len(vals) > 1:
                ratio = vals[-1][1] / vals[0][1]
                lim = self.limits["growth"]
                self.timing(ratio <= lim, f"{KIND_NAMES[kind]}: 10 forwards with {vals[-1][0]} "
                           f"other rules cost {ratio:.2f}x the empty table, limit {lim}x")
        if rows:
            levels = [o for o, _ in rows[0][1]]
            self.md.append("| backend | " + " | ".join(f"{o} other rules" for o in levels)
                           + " | last / first |")
            self.md.append("|---|" + "---:|" * (len(levels) + 1))
            for kind, vals in rows:
                self.md.append(f"| {KIND_NAMES[kind]} | "
                               + " | ".join(f"{v:.1f}" for _, v in vals)
                               + f" | {vals[-1][1] / vals[0][1]:.2f} |")
        self.md.append("")

    def section_curve(self):
        self.md += [
            "### 100 guests with 10 forwards each, started one after another: "
            "the k-th `started` (median ms)",
            "",
        ]
        rows = []
        for kind in self.kinds():
            d = os.path.join(self.root, kind, "curve")
            if not os.path.isdir(d):
                continue
            pts = []
            for name in os.listdir(d):
                k = int(name[:-5])
                pts.append((k, median_ms(load_json(os.path.join(d, name)), f"started-{k}")))
            pts.sort()
            rows.append((kind, pts))
            if kind != "legacy" and len(pts) > 1:
                ratio = pts[-1][1] / pts[0][1]
                lim = self.limits["curve"]
                self.timing(ratio <= lim, f"{KIND_NAMES[kind]}: the {pts[-1][0]}th started costs "
                           f"{ratio:.2f}x the first, limit {lim}x")
        if rows:
            ks = [k for k, _ in rows[0][1]]
            self.md.append("| backend | " + " | ".join(f"k={k}" for k in ks) + " | last / first |")
            self.md.append("|---|" + "---:|" * (len(ks) + 1))
            for kind, pts in rows:
                self.md.append(f"| {KIND_NAMES[kind]} | " + " | ".join(f"{v:.1f}" for _, v in pts)
                               + f" | {pts[-1][1] / pts[0][1]:.2f} |")
        self.md.append("")

    def summary(self, machine):
        """The README's table: 10 forwards, started + stopped, next to the floor; the rest."""
        md = ["Measured by `tests/bench/bench.sh` (this table is rewritten by it; "
              "[tests/bench/RESULTS.md](tests/bench/RESULTS.md) has every measurement). "
              + "; ".join(machine) + ".", "",
              "| backend | other rules | hook: started + stopped, 10 forwards | floor | ratio "
              "| peak RSS | guest without forwards | `/bin/true` |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for kind in self.kinds():
            for others in numeric_dirs(os.path.join(self.root, kind)):
                w = self.world(kind, others)
                res = w["f"].get(10)
                if not res:
                    continue
                h = median_ms(res, "started") + median_ms(res, "stopped")
                fl = median_ms(res, "floor-add") + median_ms(res, "floor-del")
                rss = max(w["rss"].get(10, {}).get(op, 0) for op in ("started", "stopped"))
                md.append(f"| {KIND_NAMES[kind]} | {others} | {h:.1f} ms | {fl:.1f} ms "
                          f"| {h / fl:.2f} | {rss / 1024:.1f} MiB "
                          f"| {median_ms(w['nofwd'], 'nofwd'):.2f} ms "
                          f"| {median_ms(w['nofwd'], 'true'):.2f} ms |")
        met = sum(ok for ok, _ in self.results)
        md += ["", f"Targets of issue 7 met: {met} of {len(self.results)}"
               + ("" if met == len(self.results) else "; not met: "
                  + "; ".join(d for ok, d in self.results if not ok)) + "."]
        return "\n".join(md) + "\n"

    def run(self):
        with open(os.path.join(self.root, "machine")) as f:
            machine = f.read().strip().splitlines()
        self.machine = [m for m in machine if not m.startswith(("load", "mode"))]
        self.md += ["## The hook next to the floor: `tests/bench/bench.sh`"
                    f"{' --quick' if self.quick else ''}", "",
                    "Regenerated by the script; README.md in this directory says what is "
                    "measured and how.", "",
                    "### Machine", ""] + [f"- {line}" for line in machine] + [""]
        self.section_floor()
        self.section_nofwd()
        self.section_growth()
        self.section_curve()
        self.md += [f"### {'Quick-run limits' if self.quick else 'Targets of issue 7'}", "",
                    "| check | |", "|---|---|"]
        self.md += [f"| {desc} | {'met' if ok else '**not met**'} |" for ok, desc in self.results]
        # What nft alone costs as a table grows (table-cost.sh).
        extra = os.path.join(self.root, "table-cost.md")
        if os.path.exists(extra):
            with open(extra) as f:
                self.md += ["", "## What the kernel charges as a table grows: "
                            "`tests/bench/table-cost.sh`", "", f.read().strip()]
        return "\n".join(self.md) + "\n"


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_readme(path, table):
    """Replace what lies between the bench markers of the README by table."""
    with open(path) as f:
        text = f.read()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        sys.exit(f"{path}: no {BEGIN} ... {END} section")
    with open(path, "w") as f:
        f.write(text[:a + len(BEGIN)] + "\n" + table + text[b:])


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    out = None
    if "--out" in args:
        out = args[args.index("--out") + 1]
    rep = Report(args[0], quick)
    text = rep.run()
    sys.stdout.write(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
    if "--readme" in args:
        write_readme(args[args.index("--readme") + 1], rep.summary(rep.machine))
    for line in rep.tap:
        print(line)
    print(f"1..{sum(not line.startswith('#') for line in rep.tap)}")
    sys.exit(1 if rep.failed else 0)


if __name__ == "__main__":
    main()
