#!/usr/bin/env bash
# transform_test.sh: `cfx transform` end to end on the taxi data, checked
# by an independent reimplementation in Python (stdlib only: it parses the
# TFRecords and tf.Examples itself) of every analyzer and every op, record
# by record; TFX-written examples give TFX's vocabulary sizes; bad inputs
# fail with a message naming the place.
set -euo pipefail

: "${CFX:?path of the cfx binary}"
: "${CFX_SOURCE_DIR:?source tree}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$T
export E2E_DIR=$CFX_SOURCE_DIR/tests/e2e # tfrecord_reader.py

spec="$CFX_SOURCE_DIR/examples/taxi/transform.json"

# 1. taxi CSV -> examples -> transform
"$CFX" examplegen --input "$CFX_SOURCE_DIR/examples/taxi/data.csv" \
    --output "$work/ex" >"$work/examplegen.log" ||
    fail "examplegen: $(cat "$work/examplegen.log")"
# pickup_census_tract is empty in every train row: only the schema says
# it is an int, so TFT's fill makes it 0 and its vocabulary ["0"]. Every
# input the spec reads must be in the schema (as in TFT).
for f in fare:FLOAT pickup_census_tract:INT trip_miles:FLOAT trip_seconds:INT \
    payment_type:BYTES company:BYTES pickup_latitude:FLOAT pickup_longitude:FLOAT \
    dropoff_latitude:FLOAT dropoff_longitude:FLOAT trip_start_hour:INT \
    trip_start_day:INT trip_start_month:INT pickup_community_area:INT \
    dropoff_community_area:INT dropoff_census_tract:INT tips:FLOAT; do
    printf 'feature { name: "%s" type: %s }\n' "${f%%:*}" "${f##*:}"
done >"$work/schema.pbtxt"
"$CFX" transform --examples "$work/ex" --schema "$work/schema.pbtxt" \
    --spec "$spec" --output "$work/xf" >"$work/transform.log" ||
    fail "transform: $(cat "$work/transform.log")"
cat "$work/transform.log"
g="$work/xf/transform_graph"
for f in transform.json assets/company_xf.txt assets/payment_type_xf.txt \
    metadata/schema.pbtxt; do
    [ -f "$g/$f" ] || fail "missing transform_graph/$f"
done
cmp -s "$work/schema.pbtxt" "$g/metadata/schema.pbtxt" ||
    fail "metadata/schema.pbtxt is not a copy of the raw schema"
for s in train eval; do
    [ -f "$work/xf/transformed_examples/Split-$s/transformed_examples-00000-of-00001.gz" ] ||
        fail "missing transformed examples for Split-$s"
done

# 2. independent check of analyzers and ops (kept in a file: it also
#    checks a spec with crosses and log_z_score below)
cat >"$work/check.py" <<'EOF'
import bisect, glob, json, math, os, struct, sys
from fractions import Fraction
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example as parse_example, records  # (kind, values) per feature

import re
ex_dir, xf_dir, spec_path = sys.argv[1:4]
schema_text = open(sys.argv[4]).read() if len(sys.argv) > 4 else ""
# raw kinds the schema gives (1 bytes, 2 float, 3 int64, as Feature's oneof)
schema_kind = {m.group(1): {"BYTES": 1, "FLOAT": 2, "INT": 3}[m.group(2)]
               for m in re.finditer(r'name: "([^"]*)"\s+type: (BYTES|FLOAT|INT)', schema_text)}
spec = json.load(open(spec_path))
graph_dir = os.path.join(xf_dir, "transform_graph")
graph = json.load(open(os.path.join(graph_dir, "transform.json")))

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]

def split_examples(d, split):
    rows = []
    for p in sorted(glob.glob(os.path.join(d, "Split-" + split, "*"))):
        rows += [parse_example(r) for r in records(p)]
    return rows

input_kind = {}  # the kind train shows (an empty list has one), else the schema's
def fill(ex, name, op):
    kind, vals = ex.get(name, (None, []))
    if not vals:
        if op != "vocabulary":
            return 0
        # TFT's _fill_in_missing: 0 for an int column, then as_string -> "0";
        # "" for strings (never in a vocabulary)
        return b"0" if input_kind.get(name) == 3 else b""
    v = vals[0]
    if op == "vocabulary" and kind == 3:
        return str(v).encode()
    return v

errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
        if len(errors) > 20:
            print("\n".join(errors)); sys.exit(1)

train = split_examples(ex_dir, "train")
for ex in train:
    for name, (kind, vals) in ex.items():
        if kind is not None:
            input_kind.setdefault(name, kind)
for name, kind in schema_kind.items():
    input_kind.setdefault(name, kind)
outs = {o["name"]: o for o in graph["outputs"]}
check([o["name"] for o in graph["outputs"]] == [o["name"] for o in spec["outputs"]],
      "graph outputs differ from the spec")
def log1p_clamped(x):
    # float32 of the exact log1p; cfx's log1pf may be one ulp away
    return f32(math.log1p(x)) if x > 0 else (x if math.isnan(x) else 0.0)

M64 = (1 << 64) - 1
def mix64(z):  # splitmix64's finaliser
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)

card = {}
for s in spec["outputs"]:
    g, name, op = outs[s["name"]], s["name"], s["op"]
    if op == "cross":
        prod = 1
        for n in s["inputs"]:
            prod *= card[n]
        card[name] = s.get("hash_bucket_size") or prod
        check(g["cardinality"] == card[name], "%s cardinality %r != %r" % (name, g["cardinality"], card[name]))
        continue
    vals = [fill(ex, s["input"], op) for ex in train]
    if op in ("z_score", "log_z_score"):
        xs = [f32(float(v)) for v in vals]
        if op == "log_z_score":
            xs = [log1p_clamped(x) for x in xs]
        tol = 1e-9 if op == "z_score" else 1e-6
        xs = [Fraction(x) for x in xs]
        mean = sum(xs) / len(xs)
        var = sum((x - mean) ** 2 for x in xs) / len(xs)
        check(abs(g["mean"] - float(mean)) <= tol * max(1, abs(float(mean))),
              "%s mean %r != %r" % (name, g["mean"], float(mean)))
        check(abs(g["var"] - float(var)) <= tol * float(var),
              "%s var %r != %r" % (name, g["var"], float(var)))
    elif op == "vocabulary":
        counts = {}
        for v in vals:
            counts[v] = counts.get(v, 0) + 1
        toks = [t for t in counts if t and b"\n" not in t and b"\r" not in t]
        toks.sort(key=lambda t: (counts[t], t), reverse=True)
        toks = toks[:s.get("top_k", 1 << 62) or None]
        with open(os.path.join(graph_dir, "assets", g["vocabulary_file"]), "rb") as f:
            got = f.read()
        check(got == b"".join(t + b"\n" for t in toks),
              "%s: vocabulary file differs from the independent one" % name)
        check(g["vocab_size"] == len(toks), "%s vocab_size" % name)
        g["_index"] = {t: i for i, t in enumerate(toks)}
        card[name] = len(toks) + s.get("num_oov_buckets", 1)
    elif op == "bucketize":
        xs = sorted(f32(float(v)) for v in vals if not math.isnan(v))
        k, n = s["num_buckets"], len(xs)
        want = [xs[-(-i * n // k) - 1] for i in range(1, k)]
        check(g["boundaries"] == want, "%s boundaries %r != %r" % (name, g["boundaries"], want))
        card[name] = k
    elif op == "identity":
        if "cardinality" in s:
            check(g["cardinality"] == s["cardinality"], "%s cardinality" % name)
        else:
            check(g["cardinality"] == max(vals) + 1, "%s cardinality" % name)
        card[name] = g["cardinality"]

# every transformed record against the ops applied independently
lab = spec.get("label")
oov_seen = {}
total = 0
for split in ("train", "eval"):
    raw = split_examples(ex_dir, split)
    got = split_examples(os.path.join(xf_dir, "transformed_examples"), split)
    check(len(raw) == len(got), "Split-%s: %d raw vs %d transformed" % (split, len(raw), len(got)))
    for r, (ex, t) in enumerate(zip(raw, got)):
        where = "Split-%s record %d" % (split, r)
        cur = {}  # this record's categorical outputs, for crosses
        for s in spec["outputs"]:
            g, name, op = outs[s["name"]], s["name"], s["op"]
            v = None if op == "cross" else fill(ex, s["input"], op)
            kind, vals = t.get(name, (None, []))
            check(len(vals) == 1, "%s: %s has %d values" % (where, name, len(vals)))
            y = cur[name] = vals[0]
            if op in ("z_score", "log_z_score"):
                x = f32(float(v))
                if op == "log_z_score":
                    x = log1p_clamped(x)
                x = f32(x - f32(g["mean"]))
                sd = f32(math.sqrt(f32(g["var"])))
                want = x if sd == 0 else f32(x / sd)
                ok = y == want if op == "z_score" else abs(y - want) <= 1e-6 * max(1, abs(want))
                check(kind == 2 and ok, "%s: %s = %r, want %r" % (where, name, y, want))
            elif op == "cross":
                idx = 0
                for n in s["inputs"]:
                    idx = (idx * card[n] + cur[n]) & M64
                h = s.get("hash_bucket_size")
                want = mix64(idx) % h if h else idx
                check(kind == 3 and y == want, "%s: %s = %r, want %d" % (where, name, y, want))
            elif op == "vocabulary":
                idx = g["_index"].get(v)
                if idx is not None:
                    check(kind == 3 and y == idx, "%s: %s = %r, want %d" % (where, name, y, idx))
                else:
                    lo = g["vocab_size"]
                    check(kind == 3 and lo <= y < lo + g["num_oov_buckets"],
                          "%s: %s OOV %r outside [%d, %d)" % (where, name, y, lo, lo + g["num_oov_buckets"]))
                    check(oov_seen.setdefault((name, v), y) == y, "%s: %s OOV bucket of %r varies" % (where, name, v))
            elif op == "bucketize":
                x = f32(float(v))
                want = len(g["boundaries"]) if math.isnan(x) else bisect.bisect_right(g["boundaries"], x)
                check(kind == 3 and y == want, "%s: %s = %r, want %d" % (where, name, y, want))
            elif op == "identity":
                want = v if 0 <= v < g["cardinality"] else g["default_value"]
                check(kind == 3 and y == want, "%s: %s = %r, want %d" % (where, name, y, want))
        if lab:
            x = f32(float(fill(ex, lab["input"], "")))
            th = lab["threshold"]
            if isinstance(th, dict):
                th = f32(f32(th.get("scale", 1.0)) * f32(float(fill(ex, th["input"], ""))))
            else:
                th = f32(th)
            want = int(lab.get("nan_value", 0)) if math.isnan(x) or math.isnan(th) else int(x > th)
            kind, vals = t.get(lab["name"], (None, []))
            check(kind == 3 and vals == [want], "%s: %s = %r, want %d" % (where, lab["name"], vals, want))
        check(len(t) == len(spec["outputs"]) + (1 if lab else 0), "%s: extra features" % where)
        total += 1
if errors:
    print("\n".join(errors)); sys.exit(1)
if "fare_xf" not in outs:
    print("independent check: %d transformed records agree" % total); sys.exit(0)
z = [f[0] for f in (parse_example(r).get("fare_xf", (0, [0]))[1] for r in
     records(glob.glob(os.path.join(xf_dir, "transformed_examples/Split-train/*"))[0]))]
m = sum(z) / len(z)
sd = math.sqrt(sum((a - m) ** 2 for a in z) / len(z))
if abs(m) > 1e-5 or abs(sd - 1) > 1e-5:
    print("fare_xf over train: mean %g std %g, want 0 and 1" % (m, sd)); sys.exit(1)
print("independent check: %d transformed records agree; fare_xf train mean %.2g std %.6f" % (total, m, sd))
EOF
"$PY" "$work/check.py" "$work/ex" "$work/xf" "$spec" "$work/schema.pbtxt" ||
    fail "independent check (taxi spec)"
# the int fill enters the census tract vocabularies as "0"
[ "$(cat "$g/assets/pickup_census_tract_xf.txt")" = 0 ] ||
    fail "pickup_census_tract vocabulary is not [\"0\"]: $(head -3 "$g/assets/pickup_census_tract_xf.txt")"
[ "$(head -1 "$g/assets/dropoff_census_tract_xf.txt")" = 0 ] ||
    fail "dropoff_census_tract vocabulary does not start with \"0\": $(head -3 "$g/assets/dropoff_census_tract_xf.txt")"

# 2b. crosses (exact, hashed, a cross of a cross) and log_z_score, by the
#     same independent check
"$PY" - "$spec" "$work/cross.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s["outputs"] += [
    {"name": "fare_log_xf", "op": "log_z_score", "input": "fare"},
    {"name": "seconds_log_xf", "op": "log_z_score", "input": "trip_seconds"},
    {"name": "pay_x_company", "op": "cross", "inputs": ["payment_type_xf", "company_xf"]},
    {"name": "pickup_cell", "op": "cross",
     "inputs": ["pickup_latitude_xf", "pickup_longitude_xf", "trip_start_hour_xf"],
     "hash_bucket_size": 97},
    {"name": "cell_x_pay", "op": "cross", "inputs": ["pickup_cell", "pay_x_company"],
     "hash_bucket_size": 1000}]
json.dump(s, open(sys.argv[2], "w"))
EOF
"$CFX" transform --examples "$work/ex" --spec "$work/cross.json" --output "$work/xc" \
    >"$work/xc.log" || fail "transform with crosses: $(cat "$work/xc.log")"
grep -Eq '^  pay_x_company +cross +cardinality=880( |$)' "$work/xc.log" ||
    fail "exact cross cardinality (16 x 55): $(grep pay_x "$work/xc.log")"
"$PY" "$work/check.py" "$work/ex" "$work/xc" "$work/cross.json" || fail "independent check (crosses)"

# 2c. an int column empty in every row: without a schema its kind is
#     unknown (string fill "", OOV); with the schema's INT, TFT fills 0 and
#     the vocabulary is ["0"], at analysis and when applied
printf 'x,t\n1,\n2,\n3,\n4,\n5,\n6,\n' >"$work/empty.csv"
"$CFX" examplegen --input "$work/empty.csv" --output "$work/eex" >/dev/null ||
    fail "examplegen of empty.csv"
printf '{"outputs": [{"name": "t_xf", "op": "vocabulary", "input": "t"}]}' >"$work/t.json"
printf 'feature { name: "t" type: INT }\n' >"$work/t.pbtxt"
"$CFX" transform --examples "$work/eex" --spec "$work/t.json" --output "$work/tn" \
    >"$work/tn.log" || fail "transform of an empty column: $(cat "$work/tn.log")"
grep -Eq '^  t_xf +vocabulary vocab_size=0 cardinality=1 ' "$work/tn.log" ||
    fail "empty column without a schema: $(cat "$work/tn.log")"
"$CFX" transform --examples "$work/eex" --schema "$work/t.pbtxt" --spec "$work/t.json" \
    --output "$work/tw" >"$work/tw.log" || fail "transform of an empty int column: $(cat "$work/tw.log")"
grep -Eq '^  t_xf +vocabulary vocab_size=1 cardinality=2 train_counts=\[[1-9][0-9]*,0\]' "$work/tw.log" ||
    fail "empty int column: vocabulary [\"0\"] with every train row in it: $(cat "$work/tw.log")"
[ "$(cat "$work/tw/transform_graph/assets/t_xf.txt")" = 0 ] || fail "t_xf vocabulary is not [\"0\"]"
"$PY" "$work/check.py" "$work/eex" "$work/tn" "$work/t.json" || fail "independent check (empty column)"
"$PY" "$work/check.py" "$work/eex" "$work/tw" "$work/t.json" "$work/t.pbtxt" ||
    fail "independent check (empty int column)"

# 3. TFX-written examples (older TFX: kind-less features for empty cells)
#    give TFX's vocabulary sizes: company 53 (company_xf max 62 with 10 OOV
#    buckets), payment_type 6 (payment_type_xf max 15).
"$CFX" transform --examples "$CFX_SOURCE_DIR/tests/data/tfx-conformance/csv_example_gen" \
    --spec "$spec" --output "$work/tfx" >"$work/tfx.log" ||
    fail "transform on TFX examples: $(cat "$work/tfx.log")"
grep -Eq 'company_xf +vocabulary vocab_size=53 cardinality=63' "$work/tfx.log" ||
    fail "company vocabulary on TFX examples: $(grep company_xf "$work/tfx.log")"
grep -Eq 'payment_type_xf +vocabulary vocab_size=6 cardinality=16' "$work/tfx.log" ||
    fail "payment_type vocabulary on TFX examples: $(grep payment_type_xf "$work/tfx.log")"
grep -q 'Split-train: 9909 examples' "$work/tfx.log" || fail "TFX train count"

# 3b. transformed_metadata: the outputs' schema (company_xf max 45+10-1)
"$PY" - "$g/transformed_metadata/schema.pbtxt" "$g/transformed_metadata/asset_map" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
blocks = {m.group(1): m.group(0) for m in re.finditer(r'feature \{\n  name: "([^"]+)"(?:.|\n)*?\n\}', text)}
assert len(blocks) == 17, sorted(blocks)
assert "max: 54\n" in blocks["company_xf"] and "is_categorical: true" in blocks["company_xf"], blocks["company_xf"]
assert "max: 15\n" in blocks["payment_type_xf"], blocks["payment_type_xf"]
assert "max: 9\n" in blocks["pickup_latitude_xf"]
assert "type: FLOAT" in blocks["fare_xf"] and "int_domain" not in blocks["fare_xf"]
assert "type: INT" in blocks["tips_xf"] and "size: 1" in blocks["tips_xf"]
assert json.load(open(sys.argv[2]))["company_xf"] == "company_xf.txt"
EOF

# 3c. an identity cardinality from the raw schema's int_domain; a schema
#     that does not parse is refused with its line and column
printf 'feature {\n  name: "trip_start_hour"\n  type: INT\n  int_domain { min: 0 max: 29 }\n}\nfeature {\n  name: "trip_start_day"\n  type: INT\n}\n' >"$work/dom.pbtxt"
printf '{"outputs": [{"name": "h", "op": "identity", "input": "trip_start_hour"}, {"name": "d", "op": "identity", "input": "trip_start_day"}]}' >"$work/id.json"
"$CFX" transform --examples "$work/ex" --schema "$work/dom.pbtxt" --spec "$work/id.json" \
    --output "$work/id" >"$work/id.log" || fail "identity spec: $(cat "$work/id.log")"
grep -Eq '^  h +identity +cardinality=30 ' "$work/id.log" || fail "int_domain cardinality: $(cat "$work/id.log")"
grep -Eq '^  d +identity +cardinality=8 ' "$work/id.log" || fail "train max cardinality: $(cat "$work/id.log")"
printf 'feature {\n  name: "x"\n  typo: 1\n}\n' >"$work/bad.pbtxt"
if "$CFX" transform --examples "$work/ex" --schema "$work/bad.pbtxt" --spec "$work/id.json" \
    --output "$work/o0" 2>"$work/e0"; then
    fail "a schema with an unknown field accepted"
fi
grep -q "bad.pbtxt: 3:3: unknown field 'typo'" "$work/e0" || fail "message: $(cat "$work/e0")"

# 4. errors name the place
mkdir -p "$work/empty"
if "$CFX" transform --examples "$work/empty" --spec "$spec" --output "$work/o1" 2>"$work/e1"; then
    fail "no Split-train accepted"
fi
grep -q "no Split-train" "$work/e1" || fail "message: $(cat "$work/e1")"
printf '{"outputs": [{"name": "a", "op": "z_score", "input": "fare", "scale": 2}]}' >"$work/bad.json"
if "$CFX" transform --examples "$work/ex" --spec "$work/bad.json" --output "$work/o2" 2>"$work/e2"; then
    fail "unknown spec key accepted"
fi
grep -q "bad.json: outputs\[0\] ('a'): unknown key 'scale'" "$work/e2" || fail "message: $(cat "$work/e2")"
printf '{"outputs": [{"name": "a", "op": "z_score", "input": "company"}]}' >"$work/kind.json"
if "$CFX" transform --examples "$work/ex" --spec "$work/kind.json" --output "$work/o3" 2>"$work/e3"; then
    fail "z_score of a string feature accepted"
fi
grep -q "record [0-9]*: feature 'company' (output 'a'): expected a number, got bytes" "$work/e3" ||
    fail "message: $(cat "$work/e3")"
# 5. --pipeline-root records the run (MLMD tables, read with sqlite3)
mkdir -p "$work/root"
"$CFX" transform --examples "$work/ex" --spec "$spec" --pipeline-root "$work/root" \
    >"$work/root.log" || fail "transform --pipeline-root: $(cat "$work/root.log")"
"$PY" - "$work/root/metadata.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
arts = db.execute("SELECT t.name, a.uri FROM Artifact a JOIN Type t ON a.type_id = t.id").fetchall()
types = sorted(t for t, _ in arts)
assert "TransformGraph" in types and types.count("Examples") == 1, arts
states = db.execute("SELECT t.name, e.last_known_state FROM Execution e JOIN Type t ON e.type_id = t.id").fetchall()
assert states == [("Transform", 3)], states  # 3 = COMPLETE
EOF
[ -f "$work/root/Transform/transform_graph/1/transform.json" ] || fail "no graph in the pipeline root"
# A schema written before the legacy flag became a comment (its last line
# `generate_legacy_feature_spec: false`, not a field of tensorflow_metadata's
# Schema) still reads.
{ cat "$work/schema.pbtxt"; echo "generate_legacy_feature_spec: false"; } >"$work/legacy.pbtxt"
"$CFX" transform --examples "$work/ex" --schema "$work/legacy.pbtxt" \
    --spec "$CFX_SOURCE_DIR/examples/taxi/transform.json" --output "$work/tl" \
    >"$work/tl.log" 2>&1 || fail "transform with a legacy schema: $(cat "$work/tl.log")"
echo "transform e2e: OK"
