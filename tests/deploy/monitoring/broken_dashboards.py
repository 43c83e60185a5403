#!/usr/bin/env python3
"""Deliberately broken dashboards must be caught (tests/deploy/monitoring/static.sh).

  broken_dashboards.py DASHBOARD [--promtool promtool]

Each case below changes one thing in a copy of DASHBOARD, runs check_monitoring.py's offline
dashboard check on it and requires a failure whose message contains the expected text; the
unchanged dashboard must pass. Prints one line per case and "N passed, N failed".
"""

import argparse
import copy
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_monitoring  # noqa: E402


def first(dash, kind="timeseries"):
    return next(p for p in dash["panels"] if p["type"] == kind)


def second(dash, kind="timeseries"):
    return [p for p in dash["panels"] if p["type"] == kind][1]


def set_expr(dash, expr):
    first(dash)["targets"][0]["expr"] = expr


CASES = [
    ("duplicate panel id", "duplicate panel id",
     lambda d: second(d).__setitem__("id", first(d)["id"])),
    ("target without expr", "no `expr`",
     lambda d: first(d)["targets"][0].pop("expr")),
    ("unbalanced parenthesis", "unclosed left parenthesis",
     lambda d: set_expr(d, 'sum(rate(iomtflow_device_events_total{job=~"$job"}[$__rate_interval])')),
    ("range without a unit", "PromQL",
     lambda d: set_expr(d, 'sum(rate(iomtflow_device_events_total{job=~"$job"}[5]))')),
    ("datasource hard-coded", "is not the datasource variable",
     lambda d: first(d).__setitem__("datasource", {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"})),
    ("undefined variable", "uses undefined variable $env",
     lambda d: set_expr(d, 'sum(rate(iomtflow_device_events_total{env="$env"}[5m]))')),
    ("gridPos width as a string", "gridPos must have integer",
     lambda d: first(d)["gridPos"].__setitem__("w", "8")),
    ("panel beyond 24 columns", "outside the 24-column grid",
     lambda d: first(d)["gridPos"].__setitem__("x", 20)),
    ("overlapping panels", "overlaps",
     lambda d: second(d).__setitem__("gridPos", dict(first(d)["gridPos"]))),
    ("missing metric hidden by `or vector(0)`", "would hide a missing metric",
     lambda d: set_expr(d, 'sum(rate(iomtflow_device_events_total{job=~"$job"}[5m])) or vector(0)')),
    ("no schemaVersion", "`schemaVersion` missing",
     lambda d: d.pop("schemaVersion")),
    ("no datasource variable", "no Prometheus datasource variable",
     lambda d: d["templating"].__setitem__("list", [v for v in d["templating"]["list"] if v["type"] != "datasource"])),
    ("no instance variable", "no `instance` template variable",
     lambda d: d["templating"].__setitem__("list", [v for v in d["templating"]["list"] if v["name"] != "instance"])),
    ("panel without targets", "no targets",
     lambda d: first(d).__setitem__("targets", [])),
]


def run_check(path, promtool):
    report = check_monitoring.Report()
    devnull = open(os.devnull, "w")
    saved, sys.stdout = sys.stdout, devnull
    try:
        check_monitoring.check_dashboard(path, promtool, report)
    finally:
        sys.stdout = saved
        devnull.close()
    return report.failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dashboard")
    ap.add_argument("--promtool", default="promtool")
    a = ap.parse_args()
    with open(a.dashboard, encoding="utf-8") as f:
        good = json.load(f)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard.json")

        def write(text):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)

        write(json.dumps(good))
        got = run_check(path, a.promtool)
        if got:
            failed += 1
            print(f"FAIL the unchanged dashboard does not pass: {got}")
        else:
            passed += 1
            print("ok   unchanged dashboard passes")
        cases = CASES + [("not JSON (trailing comma)", "not valid JSON", None)]
        for name, expected, mutate in cases:
            if mutate is None:
                write(json.dumps(good)[:-1] + ",}")
            else:
                d = copy.deepcopy(good)
                mutate(d)
                write(json.dumps(d))
            got = run_check(path, a.promtool)
            hit = [g for g in got if expected in g]
            if hit:
                passed += 1
                print(f"ok   {name}: caught: {hit[0][:150]}")
            else:
                failed += 1
                print(f"FAIL {name}: expected a failure containing {expected!r}, got {got}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
