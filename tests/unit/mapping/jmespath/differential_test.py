#!/usr/bin/python3
"""Differential test: iomtflow's JMESPath against Debian's python3-jmespath.

Generates random (seeded, deterministic) valid expressions and documents, evaluates them with
python jmespath and with the jmespath_eval tool (one JSON request per line), and compares the
results with deep equality (booleans distinct from numbers, floats within 1e-9 relative).

Run with Debian's interpreter (/usr/bin/python3), which has the python3-jmespath package:
    /usr/bin/python3 differential_test.py path/to/jmespath_eval [--cases N] [--seed S] [-v]

Where the two implementations legitimately differ, the reference is adjusted (documented below)
or the case is skipped and counted as such:
  * a.b with a null `a`: JmesPath.Net (and iomtflow) stop at the null; python evaluates `b`
    against null (matters only for functions: `missing.type(@)`). The reference interpreter is
    patched to short-circuit like JmesPath.Net.
  * Comparators follow JmesPath.Net over Newtonsoft tokens: `==` is JToken.DeepEquals (token
    types must match: 1 != 1.0, true != 1, also inside containers); `<` `<=` `>` `>=` compare two
    numbers, or two strings ordinally with null as the lowest string (python: numbers or strings
    only, null -> null). The reference interpreter's comparator is replaced by these rules.
  * Python bugs fixed in the reference: `a[0][:]` folds the slice into the index expression
    without projecting it (the index-expression "optimization" of _token_led_lbracket), and
    variadic functions only type-check their first argument (merge(`{}`, `[]`) succeeds).
  * Python crashes with a non-JMESPath exception (e.g. contains('abc', `1`) raises TypeError;
    JmesPath.Net returns false): skipped.
"""

import json
import math
import random
import subprocess
import sys

import jmespath
from jmespath import exceptions, functions, parser, visitor

KEYS = ["a", "b", "c", "foo", "bar"]
STRINGS = ["x", "y", "abc", "", "foo", "bar", "a b", "Z", "10", "2.5", "-3"]
FLOATS = [0.5, 1.5, -2.25, 3.0, 100.0, -0.75]
FUNCTIONS = {
    # name: list of argument "shapes"; 'e' = expression, 'r' = expression reference
    "abs": ["e"], "avg": ["e"], "ceil": ["e"], "contains": ["e", "e"], "ends_with": ["e", "e"],
    "floor": ["e"], "join": ["e", "e"], "keys": ["e"], "length": ["e"], "map": ["r", "e"],
    "max": ["e"], "max_by": ["e", "r"], "merge": ["e", "e"], "min": ["e"], "min_by": ["e", "r"],
    "not_null": ["e", "e", "e"], "reverse": ["e"], "sort": ["e"], "sort_by": ["e", "r"],
    "starts_with": ["e", "e"], "sum": ["e"], "to_array": ["e"], "to_number": ["e"],
    "to_string": ["e"], "type": ["e"], "values": ["e"],
}


# ---- reference adjustments (see the module docstring) ----

def _deep_equals(x, y):
    """Newtonsoft JToken.DeepEquals: same token type (bool / int / float / str / ...), same value."""
    if type(x) != type(y):
        return False
    if isinstance(x, list):
        return len(x) == len(y) and all(_deep_equals(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_deep_equals(x[k], y[k]) for k in x)
    return x == y


def _utf16_key(s):
    return s.encode("utf-16-be")


def _ordering(op, left, right):
    """JmesPathOrderingComparison: numbers as doubles; strings (null lowest) ordinally; else null."""
    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if is_number(left) and is_number(right):
        a, b = float(left), float(right)
    elif isinstance(left, (str, type(None))) and isinstance(right, (str, type(None))):
        a = (0, b"") if left is None else (1, _utf16_key(left))
        b = (0, b"") if right is None else (1, _utf16_key(right))
    else:
        return None
    return {"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[op]


def _visit_comparator(self, node, value):
    left = self.visit(node["children"][0], value)
    right = self.visit(node["children"][1], value)
    op = node["value"]
    if op == "eq":
        return _deep_equals(left, right)
    if op == "ne":
        return not _deep_equals(left, right)
    return _ordering(op, left, right)


def _visit_subexpression(self, node, value):
    result = value
    for i, child in enumerate(node["children"]):
        if i > 0 and result is None:
            return None
        result = self.visit(child, result)
    return result


_python_led_lbracket = parser.Parser._token_led_lbracket


def _led_lbracket(self, left):
    if self._lookahead_token(0)["type"] in ("number", "colon") and left["type"] == "index_expression":
        return self._project_if_slice(left, self._parse_index_expression())
    return _python_led_lbracket(self, left)


_python_type_check = functions.Functions._type_check


def _type_check(self, actual, signature, function_name):
    _python_type_check(self, actual, signature, function_name)
    if signature and signature[-1].get("variadic") and signature[-1]["types"]:
        for extra in actual[len(signature):]:
            self._type_check_single(extra, signature[-1]["types"], function_name)


visitor.TreeInterpreter.visit_comparator = _visit_comparator
visitor.TreeInterpreter.visit_subexpression = _visit_subexpression
parser.Parser._token_led_lbracket = _led_lbracket
functions.Functions._type_check = _type_check


# ---- generators ----

def gen_scalar(r):
    t = r.random()
    if t < 0.35:
        return r.randint(-5, 100)
    if t < 0.5:
        return r.choice(FLOATS)
    if t < 0.8:
        return r.choice(STRINGS)
    if t < 0.92:
        return r.choice([True, False])
    return None


def gen_doc(r, depth=0):
    t = r.random()
    if depth >= 3 or t < 0.3:
        return gen_scalar(r)
    if t < 0.6:
        return [gen_doc(r, depth + 1) for _ in range(r.randint(0, 4))]
    keys = r.sample(KEYS, r.randint(0, len(KEYS)))
    return {k: gen_doc(r, depth + 1) for k in keys}


def gen_root(r):
    keys = r.sample(KEYS, r.randint(2, len(KEYS)))
    return {k: gen_doc(r, 1) for k in keys}


def literal(r):
    return "`" + json.dumps(gen_doc(r, 2), separators=(",", ":")) + "`"


def key(r):
    return r.choice(KEYS) if r.random() < 0.9 else '"a b"'


def slice_text(r):
    parts = []
    for _ in range(r.choice([2, 2, 3])):
        parts.append(str(r.randint(-4, 4)) if r.random() < 0.6 else "")
    if len(parts) == 3 and parts[2] == "0":
        parts[2] = "-1"
    return ":".join(parts)


def atom(r):
    t = r.random()
    if t < 0.6:
        return key(r)
    if t < 0.7:
        return "@"
    if t < 0.85:
        return literal(r)
    return "'" + r.choice(STRINGS) + "'"


def function_call(r, d):
    name = r.choice(sorted(FUNCTIONS))
    args = []
    for shape in FUNCTIONS[name]:
        if shape == "r":
            args.append("&" + gen(r, d - 1))
        else:
            args.append(gen(r, d - 1))
    if name in ("not_null", "merge"):
        args = args[: r.randint(1, len(args))]
    return name + "(" + ", ".join(args) + ")"


def gen(r, d):
    if d <= 0:
        return atom(r)
    e = lambda: gen(r, d - 1)  # noqa: E731
    c = r.randrange(22)
    if c == 0:
        return atom(r)
    if c == 1:
        return f"{e()}.{key(r)}"
    if c == 2:
        return f"{e()}[{r.randint(-3, 3)}]"
    if c == 3:
        return f"{e()}[{slice_text(r)}]"
    if c == 4:
        return f"{e()}[*]"
    if c == 5:
        return f"{e()}[*].{key(r)}"
    if c == 6:
        return f"{e()}[]"
    if c == 7:
        return f"{e()}.*"
    if c == 8:
        return f"{e()}[?{e()}]"
    if c == 9:
        return f"[{e()}, {e()}]"
    if c == 10:
        return f"{e()}.[{e()}, {e()}]"
    if c == 11:
        k1, k2 = r.sample(KEYS, 2)
        return f"{{{k1}: {e()}, {k2}: {e()}}}"
    if c == 12:
        return f"{e()} | {e()}"
    if c == 13:
        return f"{e()} || {e()}"
    if c == 14:
        return f"{e()} && {e()}"
    if c == 15:
        return f"!{e()}"
    if c == 16:
        return f"{e()} {r.choice(['==', '!=', '<', '<=', '>', '>='])} {e()}"
    if c in (17, 18):
        return function_call(r, d)
    if c == 19:
        return f"({e()})"
    if c == 20:
        return f"{e()}.{function_call(r, d)}"
    return f"{e()}[?{key(r)} {r.choice(['==', '>', '<'])} {literal(r)}]"


# ---- comparison ----

def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return True
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) == type(b) and a == b


def python_kind(exc):
    if isinstance(exc, exceptions.ArityError):
        return "invalid-arity"
    if isinstance(exc, exceptions.UnknownFunctionError):
        return "unknown-function"
    if isinstance(exc, exceptions.JMESPathTypeError):
        return "invalid-type"
    if isinstance(exc, (exceptions.ParseError, exceptions.EmptyExpressionError)):
        return "syntax"
    return None


def reference(expr, doc):
    try:
        return {"result": jmespath.search(expr, doc)}
    except exceptions.JMESPathError as exc:
        kind = python_kind(exc)
        return {"error": kind} if kind else {"skip": repr(exc)}
    except Exception as exc:  # Python-specific crash (TypeError...): not comparable
        return {"skip": repr(exc)}


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    tool = args[0]
    cases, seed, verbose = 4000, 20240607, False
    i = 1
    while i < len(args):
        if args[i] == "--cases":
            cases = int(args[i + 1]); i += 2
        elif args[i] == "--seed":
            seed = int(args[i + 1]); i += 2
        elif args[i] == "-v":
            verbose = True; i += 1
        else:
            print("unknown argument " + args[i]); return 2

    r = random.Random(seed)
    work = []
    for _ in range(cases):
        doc = gen_root(r)
        expr = gen(r, r.randint(1, 4))
        work.append((expr, doc))

    request = "".join(json.dumps({"expression": e, "given": d}) + "\n" for e, d in work)
    proc = subprocess.run([tool], input=request.encode(), stdout=subprocess.PIPE, check=True)
    answers = proc.stdout.decode().splitlines()
    if len(answers) != len(work):
        print(f"tool answered {len(answers)} lines for {len(work)} requests")
        return 1

    passed = failed = skipped = 0
    kinds = {"result": 0, "error": 0}
    for (expr, doc), line in zip(work, answers):
        ours = json.loads(line)
        ref = reference(expr, doc)
        if "skip" in ref:
            skipped += 1
            continue
        if "result" in ref and "result" in ours and same(ref["result"], ours["result"]):
            ok = True
        elif "error" in ref and "error" in ours and ref["error"] == ours["error"]:
            ok = True
        else:
            ok = False
        if ok:
            passed += 1
            kinds["result" if "result" in ref else "error"] += 1
            continue
        failed += 1
        if failed <= 25 or verbose:
            print("MISMATCH", json.dumps(expr))
            print("  given:  ", json.dumps(doc))
            print("  python: ", json.dumps(ref))
            print("  ours:   ", line)

    print(f"{passed} passed, {failed} failed, {skipped} skipped "
          f"(results: {kinds['result']}, errors: {kinds['error']}; seed {seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
