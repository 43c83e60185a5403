#!/usr/bin/env python3
"""Checks of iomtflow's Grafana dashboard and Prometheus alert rules (standard library, plus
python3-yaml for the `prometheusrule` command only).

  check_monitoring.py dashboard FILE [--promtool promtool]
      Structure: uid/title/schemaVersion, unique panel ids (rows included), integer gridPos inside the
      24-column grid without overlaps, every panel and target on the datasource variable, every
      target with a non-empty `expr` and a unique refId, every $variable defined, no `or vector(..)`
      that would hide a missing metric. Then every expression (variables substituted) is checked
      for PromQL syntax by `promtool check rules` (written as recording rules).

  check_monitoring.py dashboard-live FILE --prometheus URL [--var NAME=VALUE ...]
      Runs every panel expression and every variable query (variables substituted) against a live
      Prometheus; each must succeed and return a non-empty result, and so must each series selector
      in it on its own (`count(SELECTOR)`), so that `a or b` with a misspelled `b` fails too.

  check_monitoring.py rules-live --prometheus URL --group NAME [--group NAME ...]
      Reads the named rule groups from the server (/api/v1/rules: exactly what it loaded), checks
      each rule's health, and runs each rule's expression, transformed so that it returns data
      whenever the metrics it reads exist (see `data_queries`), and each of its series selectors,
      against the server.

  check_monitoring.py prometheusrule RULES_FILE MANIFEST...
      Every PrometheusRule in the manifests (multi-document YAML, e.g. a rendered Helm chart) has
      spec.groups equal to the groups of RULES_FILE.

Every command prints one line per problem and a closing "N checked, N failed" line; the exit status
is 1 when anything failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

# Grafana's built-in variables, replaced by fixed values when checking (a 1 s scrape interval in CI,
# so one minute holds plenty of samples for rate()).
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__interval_ms": "15000",
            "__range_s": "300", "__range_ms": "300000"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)")


# ---- reporting ----------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.checked = 0
        self.failures = []

    def ok(self):
        self.checked += 1

    def fail(self, where, message):
        self.checked += 1
        self.failures.append(f"{where}: {message}")
        print(f"FAIL {where}: {message}", flush=True)

    def finish(self):
        print(f"{self.checked} checked, {len(self.failures)} failed", flush=True)
        return 1 if self.failures else 0


# ---- PromQL helpers -----------------------------------------------------------------------------

def tokens(expr):
    """Splits a PromQL expression into (kind, text, start) tokens; kind is one of str, num, open,
    close, word, op, other. Label matchers `{...}` and range/subquery brackets `[...]` are single tokens."""
    out, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            out.append(("str", expr[i:j + 1], i))
            i = j + 1
        elif c in "{[":
            close, depth, j = "}" if c == "{" else "]", 0, i
            while j < n:
                if expr[j] in "\"'`":
                    q = expr[j]
                    j += 1
                    while j < n and expr[j] != q:
                        j += 2 if expr[j] == "\\" else 1
                elif expr[j] == c:
                    depth += 1
                elif expr[j] == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(("other", expr[i:j + 1], i))
            i = j + 1
        elif c == "(":
            out.append(("open", c, i))
            i += 1
        elif c == ")":
            out.append(("close", c, i))
            i += 1
        elif c.isdigit() or (c == "." and expr[i + 1:i + 2].isdigit()):
            m = re.match(r"0[xX][0-9a-fA-F]+|[0-9.]+(?:[eE][+-]?[0-9]+)?(?:[a-zA-Z][0-9a-zA-Z]*)?", expr[i:])
            out.append(("num", m.group(0), i))   # 0.05, 1e9, 0x1f, a duration such as 5m or 1h30m
            i += len(m.group(0))
        elif c.isalpha() or c in "_:":
            m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", expr[i:])
            out.append(("word", m.group(0), i))
            i += len(m.group(0))
        elif expr.startswith(("==", "!=", ">=", "<="), i):
            out.append(("op", expr[i:i + 2], i))
            i += 2
        elif c in "<>":
            out.append(("op", c, i))
            i += 1
        else:
            out.append(("other", c, i))
            i += 1
    return out


def strip_outer_parens(expr):
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for k, t, _ in tokens(expr):
            depth += k == "open"
            depth -= k == "close"
            if depth == 0 and k == "close" and _ != len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


def split_set_ops(expr):
    """`A and B or C unless D` at the top level -> [A, B, C, D]."""
    expr = strip_outer_parens(expr)
    parts, depth, start = [], 0, 0
    toks = tokens(expr)
    for idx, (k, t, pos) in enumerate(toks):
        depth += k == "open"
        depth -= k == "close"
        if depth == 0 and k == "word" and t in ("and", "or", "unless"):
            parts.append(expr[start:pos])
            # skip a following on(...) / ignoring(...) modifier
            end, j = pos + len(t), idx + 1
            if j < len(toks) and toks[j][0] == "word" and toks[j][1] in ("on", "ignoring"):
                d, j = 0, j + 1
                while j < len(toks):
                    d += toks[j][0] == "open"
                    d -= toks[j][0] == "close"
                    if d == 0:
                        break
                    j += 1
                end = toks[j][2] + 1
            start = end
    parts.append(expr[start:])
    return [strip_outer_parens(p) for p in parts] if len(parts) > 1 else [expr]


def add_bool(expr):
    """Inserts `bool` after every comparison operator that lacks it: a filter becomes 0/1 per series."""
    toks = tokens(expr)
    out, last = [], 0
    for idx, (k, t, pos) in enumerate(toks):
        if k == "op":
            nxt = toks[idx + 1] if idx + 1 < len(toks) else None
            if not (nxt and nxt[0] == "word" and nxt[1] == "bool"):
                out.append(expr[last:pos + len(t)] + " bool")
                last = pos + len(t)
    out.append(expr[last:])
    return "".join(out)


def unwrap_absent(expr):
    """absent(X) -> X, absent_over_time(X[r]) -> last_over_time(X[r]): the metric must exist."""
    e = strip_outer_parens(expr)
    m = re.match(r"^(absent|absent_over_time)\s*\((.*)\)$", e, re.S)
    if m and strip_outer_parens("(" + m.group(2) + ")") == m.group(2).strip():
        return m.group(2).strip() if m.group(1) == "absent" else f"last_over_time({m.group(2).strip()})"
    return expr


def data_queries(expr):
    """The queries that must return data for a rule expression to be meaningful:
    1. split at top-level `and` / `or` / `unless`: each operand must have data on its own;
    2. `absent(X)` -> `X`, `absent_over_time(X[r])` -> `last_over_time(X[r])`;
    3. every comparison gets `bool`: `A > 0.05` -> `A > bool 0.05` returns a 0/1 sample for every
       series of A instead of only those beyond the threshold."""
    return [add_bool(unwrap_absent(part)) for part in split_set_ops(expr)]


KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "atan2", "inf", "nan", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
            "count_values", "bottomk", "topk", "quantile"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def selectors(expr):
    """The series selectors (metric name and its `{...}` matchers) an expression reads, so that a
    misspelled metric is found even where `or` would let the other operand answer."""
    toks, out, idx = tokens(expr), [], 0
    while idx < len(toks):
        k, t, _ = toks[idx]
        nxt = toks[idx + 1] if idx + 1 < len(toks) else None
        if k == "word" and t in LABEL_LISTS and nxt and nxt[0] == "open":
            depth = 0  # skip the label list
            idx += 1
            while idx < len(toks):
                depth += toks[idx][0] == "open"
                depth -= toks[idx][0] == "close"
                if depth == 0:
                    break
                idx += 1
        elif k == "word" and t.lower() not in KEYWORDS and not (nxt and nxt[0] == "open"):
            matchers = nxt[1] if nxt and nxt[0] == "other" and nxt[1].startswith("{") else ""
            out.append(t + matchers)
        elif k == "other" and t.startswith("{") and not (idx > 0 and toks[idx - 1][0] == "word"):
            out.append(t)
        idx += 1
    return list(dict.fromkeys(out))


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        return m.group(0)
    return VAR_RE.sub(repl, expr)


class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, **params):
        url = f"{self.url}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=15) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            try:
                return json.load(e)
            except ValueError:
                return {"status": "error", "error": f"HTTP {e.code}"}

    def query(self, expr):
        """-> (number of series/samples, error text or None)."""
        res = self.get("/api/v1/query", query=expr)
        if res.get("status") != "success":
            return 0, f"{res.get('errorType', 'error')}: {res.get('error')}"
        data = res["data"]
        if data["resultType"] in ("vector", "matrix"):
            return len(data["result"]), None
        return 1, None  # scalar / string


# ---- dashboard ----------------------------------------------------------------------------------

def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def dashboard_exprs(dash):
    """-> [(where, expr)] for every target expression and every query variable."""
    out = []
    for p in all_panels(dash):
        for t in p.get("targets", []) or []:
            out.append((f"panel {p.get('id')} {p.get('title')!r} target {t.get('refId')}", t.get("expr") or ""))
    return out


def variable_queries(dash):
    out = []
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        out.append((f"variable {v.get('name')}", q or ""))
    return out


def label_values_query(q):
    """label_values(SELECTOR, label) -> PromQL returning the label's values; label_values(label) ->
    a query for any series carrying it."""
    m = re.match(r"^\s*label_values\s*\((.*),\s*(\w+)\s*\)\s*$", q, re.S)
    if m:
        return f"count by ({m.group(2)}) ({m.group(1)})"
    m = re.match(r"^\s*label_values\s*\(\s*(\w+)\s*\)\s*$", q)
    if m:
        return f'count by ({m.group(1)}) ({{{m.group(1)}!=""}})'
    m = re.match(r"^\s*query_result\s*\((.*)\)\s*$", q, re.S)
    if m:
        return m.group(1)
    return None


def check_dashboard(path, promtool, report):
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        report.fail(path, f"not valid JSON: {e}")
        return
    for key, typ in (("uid", str), ("title", str), ("schemaVersion", int), ("panels", list), ("templating", dict)):
        if not isinstance(dash.get(key), typ) or dash.get(key) in ("", []):
            report.fail(path, f"`{key}` missing or not a {typ.__name__}")
        else:
            report.ok()
    if isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] < 30:
        report.fail(path, f"schemaVersion {dash['schemaVersion']} is older than Grafana 8 (30)")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", []) if isinstance(v, dict)}
    ds_vars = [n for n, v in variables.items() if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds_vars:
        report.fail(path, "no Prometheus datasource variable (templating type `datasource`, query `prometheus`)")
        return
    ds_ref = {"${" + n + "}" for n in ds_vars} | {"$" + n for n in ds_vars}
    for need in ("job", "instance"):
        if need not in variables:
            report.fail(path, f"no `{need}` template variable")
    for name, v in variables.items():
        if v.get("type") == "query":
            uid = (v.get("datasource") or {}).get("uid") if isinstance(v.get("datasource"), dict) else v.get("datasource")
            if uid not in ds_ref:
                report.fail(f"variable {name}", f"datasource {v.get('datasource')!r} is not the datasource variable")
    known = set(variables) | set(BUILTINS)

    def check_vars(where, text):
        for m in VAR_RE.finditer(text or ""):
            name = m.group(1) or m.group(2) or m.group(3)
            if name not in known:
                report.fail(where, f"uses undefined variable ${name}")

    ids, boxes = {}, []
    for p in all_panels(dash):
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if not isinstance(p.get("id"), int):
            report.fail(where, "`id` missing or not an integer")
        elif p["id"] in ids:
            report.fail(where, f"duplicate panel id {p['id']} (also {ids[p['id']]!r})")
        else:
            ids[p["id"]] = p.get("title")
        if not p.get("type"):
            report.fail(where, "`type` missing")
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) and not isinstance(g.get(k), bool)
                                               for k in ("h", "w", "x", "y")):
            report.fail(where, f"gridPos must have integer h, w, x, y: {g!r}")
        elif g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
            report.fail(where, f"gridPos outside the 24-column grid: {g!r}")
        else:
            for other, og in boxes:
                if g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]:
                    report.fail(where, f"overlaps {other} ({g!r} / {og!r})")
            boxes.append((where, g))
        check_vars(where + " title", p.get("title"))
        if p.get("type") == "row":
            report.ok()
            continue
        ds = p.get("datasource")
        if not isinstance(ds, dict) or ds.get("uid") not in ds_ref:
            report.fail(where, f"datasource {ds!r} is not the datasource variable ({' or '.join(sorted(ds_ref))})")
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            report.fail(where, "no targets")
            continue
        refs = set()
        for t in targets:
            tw = f"{where} target {t.get('refId')}"
            if not t.get("refId") or t.get("refId") in refs:
                report.fail(tw, "refId missing or duplicated")
            refs.add(t.get("refId"))
            tds = t.get("datasource")
            if tds is not None and (not isinstance(tds, dict) or tds.get("uid") not in ds_ref):
                report.fail(tw, f"datasource {tds!r} is not the datasource variable")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                report.fail(tw, "no `expr`")
                continue
            if re.search(r"\bor\b[^()]*\bvector\s*\(", expr) or re.search(r"\bor\s+on\s*\(\s*\)\s*vector\s*\(", expr):
                report.fail(tw, f"`or vector(..)` would hide a missing metric: {expr}")
            check_vars(tw, expr)
            check_vars(tw + " legend", t.get("legendFormat"))
            report.ok()

    # PromQL syntax, offline: every expression as a recording rule for promtool.
    values = dict(BUILTINS, **{n: ".+" for n in variables})
    exprs = dashboard_exprs(dash) + [(w, label_values_query(q) or q) for w, q in variable_queries(dash)]
    rules = []
    names = {}
    for i, (where, expr) in enumerate(exprs):
        if not expr.strip():
            continue
        name = f"dashboard_check:expr_{i}"
        names[name] = (where, expr)
        rules.append({"record": name, "expr": substitute(expr, values)})
    with tempfile.NamedTemporaryFile("w", suffix=".rules.json", delete=False) as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        tmp = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        os.unlink(tmp)
    if r.returncode != 0:
        reported = False
        for line in r.stdout.splitlines():
            m = re.search(r'"(dashboard_check:expr_\d+)"', line)
            if m and m.group(1) in names:
                where, expr = names[m.group(1)]
                report.fail(where, f"PromQL: {line.strip()}  [expr: {expr}]")
                reported = True
        if not reported:
            report.fail(path, f"promtool check rules failed:\n{r.stdout}")
    else:
        for _ in rules:
            report.ok()


def check_dashboard_live(path, prom, values, report):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    values = dict(BUILTINS, **values)
    exprs = dashboard_exprs(dash) + [(w, label_values_query(q) or q) for w, q in variable_queries(dash)]
    for where, expr in exprs:
        q = substitute(expr, values)
        left = VAR_RE.search(q)
        if left:
            report.fail(where, f"variable {left.group(0)} has no value (pass --var): {q}")
            continue
        run_query(prom, where, q, report)
        for sel in selectors(q):
            run_query(prom, where, f"count({sel})", report, what=f"selector {sel}")


def run_query(prom, where, q, report, what="query"):
    n, err = prom.query(q)
    if err:
        report.fail(where, f"{what} failed: {err}  [query: {q}]")
    elif n == 0:
        report.fail(where, f"{what} returned no data  [query: {q}]")
    else:
        report.ok()


# ---- rules --------------------------------------------------------------------------------------

def check_rules_live(prom, groups, report):
    res = prom.get("/api/v1/rules")
    if res.get("status") != "success":
        report.fail("/api/v1/rules", str(res))
        return
    loaded = {g["name"]: g for g in res["data"]["groups"]}
    for name in groups:
        g = loaded.get(name)
        if g is None:
            report.fail(f"group {name}", f"not loaded by the server (loaded: {sorted(loaded)})")
            continue
        if not g["rules"]:
            report.fail(f"group {name}", "has no rules")
        for rule in g["rules"]:
            where = f"group {name} {rule['type']} {rule['name']}"
            if rule.get("health") not in ("ok", "unknown") or rule.get("lastError"):
                report.fail(where, f"health {rule.get('health')}: {rule.get('lastError')}")
            for q in data_queries(rule["query"]):
                run_query(prom, where, q, report)
            for sel in selectors(rule["query"]):
                run_query(prom, where, f"count({sel})", report, what=f"selector {sel}")


def check_prometheusrule(rules_file, manifests, report):
    import yaml  # python3-yaml
    with open(rules_file, encoding="utf-8") as f:
        want = yaml.safe_load(f)["groups"]
    found = 0
    for path in manifests:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        for d in docs:
            if d.get("kind") != "PrometheusRule":
                continue
            found += 1
            where = f"{path}: PrometheusRule {d.get('metadata', {}).get('name')}"
            if d.get("apiVersion") != "monitoring.coreos.com/v1":
                report.fail(where, f"apiVersion {d.get('apiVersion')!r}, expected monitoring.coreos.com/v1")
            got = (d.get("spec") or {}).get("groups")
            if got != want:
                report.fail(where, f"spec.groups differ from {rules_file}")
            else:
                report.ok()
    if not found:
        report.fail(" ".join(manifests), "no PrometheusRule found")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dashboard")
    d.add_argument("file")
    d.add_argument("--promtool", default="promtool")
    dl = sub.add_parser("dashboard-live")
    dl.add_argument("file")
    dl.add_argument("--prometheus", required=True)
    dl.add_argument("--var", action="append", default=[], help="NAME=VALUE")
    rl = sub.add_parser("rules-live")
    rl.add_argument("--prometheus", required=True)
    rl.add_argument("--group", action="append", required=True)
    pr = sub.add_parser("prometheusrule")
    pr.add_argument("rules_file")
    pr.add_argument("manifests", nargs="+")
    a = ap.parse_args()
    report = Report()
    if a.cmd == "dashboard":
        check_dashboard(a.file, a.promtool, report)
    elif a.cmd == "dashboard-live":
        values = dict(v.split("=", 1) for v in a.var)
        check_dashboard_live(a.file, Prometheus(a.prometheus), values, report)
    elif a.cmd == "rules-live":
        check_rules_live(Prometheus(a.prometheus), a.group, report)
    else:
        check_prometheusrule(a.rules_file, a.manifests, report)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
