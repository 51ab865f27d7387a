"""prom_check.py: a checker of the Prometheus text exposition format
(version 0.0.4), for the end-to-end tests (standard library only).

It accepts what `promtool check metrics` parses and refuses what its parser
refuses; promtool's lint (naming conventions such as counters ending in
_total) is not format validity and is not checked here, so TF Serving's
metric names (":tensorflow:serving:request_count", a counter) pass. It also
checks what the format's documentation requires of the samples:

- `# HELP name text` (escapes \\\\ and \\n only) and `# TYPE name type` (counter,
  gauge, histogram, summary, untyped) at most once per name, TYPE before
  any sample of its family; other `#` lines are comments;
- metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
  (not __name__), each at most once per sample; label values in double
  quotes with the escapes \\\\, \\" and \\n only, valid UTF-8;
- values as Go's ParseFloat reads them (NaN, +Inf, -Inf included), an
  optional integer timestamp;
- a histogram's samples are <name>_bucket with an `le` label, _sum and
  _count; a summary's <name> with a `quantile` label, _sum and _count; the
  samples of other types are named as their family;
- no two samples with one name and label set;
- per histogram label set: buckets cumulative (non-decreasing by le), a
  le="+Inf" bucket equal to _count.

Usage: prom_check.py FILE|-   (exit 0 when valid; else each problem on
stderr with its line number, exit 1). `prom_check.py --self-test` checks
the checker on valid and invalid inputs.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
FLOAT = re.compile(r"[+-]?(inf|infinity|nan|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+(\.[0-9a-fA-F]*)?[pP][+-]?\d+)$",
                   re.IGNORECASE)


def parse_float(s):
    if not FLOAT.match(s) or "_" in s:
        raise ValueError("'%s' is not a number" % s)
    if s.lower().lstrip("+-").startswith("0x"):
        return float.fromhex(s)
    return float(s)


def parse_labels(line, i, lineno):
    """Parses {a="x",b="y"} from line[i] == '{'; returns (pairs, index)."""
    pairs = []
    i += 1
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == "}":
            return pairs, i + 1
        m = LABEL.match(line, i)
        if not m:
            raise ValueError("bad label name at column %d" % (i + 1))
        name = m.group(0)
        i = m.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if line[i:i + 1] != "=":
            raise ValueError("expected '=' after label name '%s'" % name)
        i += 1
        while i < len(line) and line[i] in " \t":
            i += 1
        if line[i:i + 1] != '"':
            raise ValueError("label '%s': value not in double quotes" % name)
        i += 1
        val = []
        while True:
            if i >= len(line):
                raise ValueError("label '%s': unterminated value" % name)
            c = line[i]
            if c == "\\":
                nxt = line[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("label '%s': invalid escape '\\%s'" % (name, nxt))
                val.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        if name == "__name__":
            raise ValueError("label name '__name__' is reserved")
        if any(n == name for n, _ in pairs):
            raise ValueError("label '%s' given twice" % name)
        pairs.append((name, "".join(val)))
        while i < len(line) and line[i] in " \t":
            i += 1
        if line[i:i + 1] == ",":
            i += 1
        elif line[i:i + 1] != "}":
            raise ValueError("expected ',' or '}' after label '%s'" % name)


def family_of(name, types):
    """The family a sample name belongs to, given the TYPEs seen."""
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in kinds:
            return name[:-len(suffix)], suffix
    return name, ""


def check(text):
    """Returns the list of problems of an exposition (empty: valid)."""
    problems = []
    helps, types, sampled = {}, {}, set()
    seen = set()
    hist = {}  # (family, labels without le) -> {"buckets": [(le, v)], "count": v}
    if text and not text.endswith("\n"):
        problems.append("the last line does not end with a newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        problems.append("not UTF-8")
    for lineno, line in enumerate(text.split("\n"), 1):
        def bad(msg):
            problems.append("line %d: %s: %s" % (lineno, msg, line[:120]))
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line[1:].strip(" \t").split(None, 2)
            if len(parts) >= 1 and parts[0] in ("HELP", "TYPE"):
                if len(parts) < 2 or not NAME.fullmatch(parts[1]):
                    bad("%s without a valid metric name" % parts[0])
                    continue
                name = parts[1]
                rest = parts[2] if len(parts) > 2 else ""
                if parts[0] == "HELP":
                    if name in helps:
                        bad("second HELP line for '%s'" % name)
                    if "\\" in re.sub(r"\\[\\n]", "", rest):
                        bad("HELP text: invalid escape")
                    helps[name] = rest
                else:
                    if name in types:
                        bad("second TYPE line for '%s'" % name)
                    elif name in sampled:
                        bad("TYPE line for '%s' after its samples" % name)
                    if rest.strip() not in TYPES:
                        bad("unknown type '%s'" % rest.strip())
                    types[name] = rest.strip()
            continue
        m = NAME.match(line)
        if not m:
            bad("no metric name")
            continue
        name, i = m.group(0), m.end()
        labels = []
        try:
            if line[i:i + 1] == "{":
                labels, i = parse_labels(line, i, lineno)
            rest = line[i:]
            if rest[:1] not in (" ", "\t"):
                raise ValueError("expected a blank before the value")
            fields = rest.split()
            if len(fields) not in (1, 2):
                raise ValueError("expected a value and an optional timestamp")
            value = parse_float(fields[0])
            if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
                raise ValueError("timestamp '%s' is not an integer" % fields[1])
        except ValueError as e:
            bad(str(e))
            continue
        family, suffix = family_of(name, types)
        kind = types.get(family, "untyped")
        sampled.add(family)
        key = (name, tuple(sorted(labels)))
        if key in seen:
            bad("a second sample with the same name and labels")
        seen.add(key)
        names = [n for n, _ in labels]
        if kind == "histogram":
            if not suffix:
                bad("histogram '%s': sample without _bucket, _sum or _count" % family)
                continue
            rest_labels = tuple(sorted(p for p in labels if p[0] != "le"))
            h = hist.setdefault((family, rest_labels), {"buckets": [], "count": None})
            if suffix == "_bucket":
                le = [v for n, v in labels if n == "le"]
                if not le:
                    bad("histogram bucket without an 'le' label")
                    continue
                try:
                    h["buckets"].append((parse_float(le[0]), value, lineno))
                except ValueError:
                    bad("le '%s' is not a number" % le[0])
            elif suffix == "_count":
                h["count"] = value
            if suffix != "_bucket" and "le" in names:
                bad("'le' label on a histogram's %s" % suffix)
        elif kind == "summary":
            if not suffix and "quantile" not in names:
                bad("summary '%s': sample without a 'quantile' label" % family)
            for n, v in labels:
                if n == "quantile":
                    try:
                        parse_float(v)
                    except ValueError:
                        bad("quantile '%s' is not a number" % v)
    for (family, labels), h in sorted(hist.items()):
        where = "histogram %s%s" % (family, dict(labels) if labels else "")
        bs = sorted(h["buckets"], key=lambda b: b[0])
        if not bs or not math.isinf(bs[-1][0]) or bs[-1][0] < 0:
            problems.append("%s: no le=\"+Inf\" bucket" % where)
            continue
        for (le0, v0, _), (le1, v1, ln) in zip(bs, bs[1:]):
            if v1 < v0:
                problems.append("line %d: %s: bucket le=%g (%g) below le=%g (%g)" % (ln, where, le1, v1, le0, v0))
        if h["count"] is not None and h["count"] != bs[-1][1]:
            problems.append("%s: _count %g is not the +Inf bucket %g" % (where, h["count"], bs[-1][1]))
    return problems


def self_test():
    good = """# HELP :tensorflow:serving:request_count The total number of requests.
# TYPE :tensorflow:serving:request_count counter
:tensorflow:serving:request_count{model_name="taxi",status="OK"} 3
# TYPE :tensorflow:serving:request_latency histogram
:tensorflow:serving:request_latency_bucket{API="predict",le="10"} 1
:tensorflow:serving:request_latency_bucket{API="predict",le="+Inf"} 2
:tensorflow:serving:request_latency_sum{API="predict"} 30.5
:tensorflow:serving:request_latency_count{API="predict"} 2
# a comment
plain_untyped{path="a\\\\b \\"q\\" \\n"} NaN 1700000000000
g -Inf
"""
    assert check(good) == [], check(good)
    bad = {
        "x 1": "newline",
        "1x 1\n": "no metric name",
        "x{a=\"1\",a=\"2\"} 1\n": "given twice",
        "x{a=\"\\t\"} 1\n": "invalid escape",
        "x{a=b} 1\n": "double quotes",
        "x{__name__=\"y\"} 1\n": "reserved",
        "x one\n": "not a number",
        "x 1 2.5\n": "timestamp",
        "x 1\nx 2\n": "second sample",
        "# TYPE x counter\n# TYPE x gauge\nx 1\n": "second TYPE",
        "x 1\n# TYPE x gauge\n": "after its samples",
        "# TYPE x countr\nx 1\n": "unknown type",
        "# HELP x a\n# HELP x b\nx 1\n": "second HELP",
        "# HELP x a\\\\b \\t\nx 1\n": "HELP text: invalid escape",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n": "+Inf",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n": "below",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\n": "is not the +Inf",
        "# TYPE h histogram\nh_bucket 2\n": "without an 'le'",
        "# TYPE h histogram\nh 2\n": "without _bucket",
        "# TYPE s summary\ns 2\n": "quantile",
    }
    for text, want in bad.items():
        got = check(text)
        assert any(want in p for p in got), (text, want, got)
    print("ok   prom_check: 1 valid exposition accepted, %d invalid ones refused" % len(bad))


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    data = sys.stdin.buffer.read() if sys.argv[1] == "-" else open(sys.argv[1], "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("not UTF-8: %s" % e, file=sys.stderr)
        return 1
    problems = check(text)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
