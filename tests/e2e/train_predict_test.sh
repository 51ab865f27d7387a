#!/usr/bin/env bash
# train_predict_test.sh: the taxi CSV through examplegen and transform, then
# `cfx train` and `cfx predict`: the bundle's files and checksums (verified
# by python3 hashlib), its safetensors weights read by python3, the
# TensorBoard event files (framing and CRC32C checked by python3), warmup
# rows, predictions from raw rows equal to predictions from the transformed
# examples the trainer read, a network with learned embeddings and dropout
# answering the same through cfx predict and cfx-serve, and tampered
# bundles refused by name.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
SRC=$CFX_SOURCE_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null

# The raw schema travels from the graph's metadata/ into the bundle.
mkdir -p "$T/xf/transform_graph/metadata"
[ -f "$T/xf/transform_graph/metadata/schema.pbtxt" ] ||
    printf 'feature {\n  name: "fare"\n  type: FLOAT\n}\n' > "$T/xf/transform_graph/metadata/schema.pbtxt"

# The taxi config's network (this test is about the wide & deep trainer;
# the gbt model type has its own, gbt_test.sh), without early stopping (its
# extra eval point; trainer_regularize_test covers it), shortened so the
# test stays fast under sanitizers.
sed -e 's/"train_steps": *[0-9]*/"train_steps": 1500/' \
    -e 's/"model": *"gbt"/"model": "wide_deep"/' \
    -e 's/"validation_fraction": *[0-9.]*/"validation_fraction": 0/' \
    -e 's/"eval_every_steps": *[0-9]*/"eval_every_steps": 500/' \
    "$SRC/examples/taxi/trainer.json" > "$T/trainer.json"
grep -q '"train_steps": 1500' "$T/trainer.json" || fail "could not shorten the config"

"$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/trainer.json" --raw-examples "$T/examples" --output "$T/run" \
    > "$T/train.out" 2> "$T/train.err" || { cat "$T/train.err"; fail "cfx train"; }
cat "$T/train.out"
grep -q 'ETA' "$T/train.err" || fail "no progress line on stderr"
grep -q 'warning' "$T/train.err" && fail "warning with --raw-examples: $(grep warning "$T/train.err")"
auc=$(sed -n 's/.* auc \([0-9.]*\)$/\1/p' "$T/train.out" | head -1)
[ -n "$auc" ] || fail "no eval auc in: $(cat "$T/train.out")"
awk -v a="$auc" 'BEGIN { exit !(a > 0.90) }' || fail "eval AUC $auc <= 0.90 after 1500 steps"

M=$T/run/model
for f in manifest.json transform.json variables/model.safetensors assets.extra/warmup.jsonl \
         assets/payment_type_xf.txt; do
    [ -f "$M/$f" ] || fail "bundle lacks $f"
done
ls -a "$T/run" | grep -q '^\.model' && fail "a temporary bundle folder was left behind"
cmp "$M/schema.pbtxt" "$T/xf/transform_graph/metadata/schema.pbtxt" || fail "schema.pbtxt not copied"
[ "$(stat -c %a "$M")" = 755 ] || fail "bundle folder mode $(stat -c %a "$M"), want 755"
[ "$(wc -l < "$M/assets.extra/warmup.jsonl")" = 10 ] || fail "warmup.jsonl should have 10 rows"
grep -q '"tips"' "$M/assets.extra/warmup.jsonl" && fail "warmup rows must not hold the label"
grep -q '"fare"' "$M/assets.extra/warmup.jsonl" || fail "warmup rows lack fare"

# Manifest checksums, safetensors layout and TensorBoard events, read by an
# independent implementation.
python3 - "$M" "$T/run/logs" <<'PY'
import glob, hashlib, json, os, struct, sys
m, logs = sys.argv[1], sys.argv[2]
man = json.load(open(os.path.join(m, "manifest.json")))
assert man["format_version"] == 1, man["format_version"]
assert man["model_name"] == "taxi"
assert set(man["signatures"]) >= {"serving_default", "predict_raw", "classify", "regress"}
for rel, e in man["files"].items():
    data = open(os.path.join(m, rel), "rb").read()
    assert len(data) == e["size"], (rel, len(data), e["size"])
    assert hashlib.sha256(data).hexdigest() == e["sha256"], rel
listed = set(man["files"])
for dp, _, fs in os.walk(m):
    for f in fs:
        rel = os.path.relpath(os.path.join(dp, f), m)
        assert rel == "manifest.json" or rel in listed, "unlisted file " + rel

raw = open(os.path.join(m, "variables/model.safetensors"), "rb").read()
(hl,) = struct.unpack("<Q", raw[:8])
hdr = json.loads(raw[8:8 + hl])
body = raw[8 + hl:]
net = man["network"]
nd = len(net["dense"])
h = net["hidden_units"]
want = {"deep/dense_0/kernel": [nd, h[0]], "deep/logits/kernel": [h[-1], 1],
        "wide/linear/bias": [1]}
for c in net["categorical"]:
    want["wide/linear/" + c["name"]] = [c["cardinality"], 1]
    if c["deep"]:
        want["deep/dense_0/onehot/" + c["name"]] = [c["cardinality"], h[0]]
for k in range(len(h)):
    want["deep/dense_%d/bias" % k] = [h[k]]
for name, shape in want.items():
    t = hdr[name]
    assert t["dtype"] == "F32" and t["shape"] == shape, (name, t, shape)
spans = sorted(tuple(t["data_offsets"]) for k, t in hdr.items() if k != "__metadata__")
pos = 0
for b, e in spans:
    assert b == pos, "gap or overlap"
    pos = e
assert pos == len(body)
t = hdr["deep/dense_0/kernel"]
b, e = t["data_offsets"]
try:
    import numpy as np
    w = np.frombuffer(body[b:e], dtype="<f4").reshape(t["shape"])
    assert np.isfinite(w).all() and np.abs(w).sum() > 0
    how = "numpy"
except ImportError:
    w = struct.unpack("<%df" % ((e - b) // 4), body[b:e])
    assert all(abs(x) < 1e6 for x in w) and sum(abs(x) for x in w) > 0
    how = "struct"
print("safetensors: %d tensors, read with %s" % (len(spans), how))

# CRC32C (Castagnoli), bitwise, for the TFRecord framing.
def crc32c(data):
    c = 0xFFFFFFFF
    for byte in data:
        c ^= byte
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF
def masked(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
for split, points in (("train", 15), ("eval", 3)):
    files = glob.glob(os.path.join(logs, split, "events.out.tfevents.*"))
    assert len(files) == 1, files
    data = open(files[0], "rb").read()
    recs, off = [], 0
    while off < len(data):
        (n,) = struct.unpack("<Q", data[off:off + 8])
        assert struct.unpack("<I", data[off + 8:off + 12])[0] == masked(crc32c(data[off:off + 8]))
        rec = data[off + 12:off + 12 + n]
        assert struct.unpack("<I", data[off + 12 + n:off + 16 + n])[0] == masked(crc32c(rec))
        recs.append(rec)
        off += 16 + n
    # Event.file_version is field 3 (tag 0x1a), length 13.
    assert b"\x1a\x0dbrain.Event:2" in recs[0], recs[0]
    assert len(recs) == 1 + points, (split, len(recs))
    for r in recs[1:]:
        # Event.summary (field 5, tag 0x2a) holding Value{tag=1, simple_value=2}
        assert b"\x2a" in r and b"\x0a\x04loss\x15" in r and b"\x0a\x03auc\x15" in r, r
csv = open(os.path.join(logs, "metrics.csv")).read().splitlines()
assert csv[0] == "split,step,wall_time,loss,accuracy,auc,examples", csv[0]
assert sum(1 for l in csv if l.startswith("eval,")) == 3
print("manifest, safetensors, events and metrics.csv verified")
PY

# Without --raw-examples the bundle has no warm-up rows: said on stderr.
sed -e 's/"train_steps": *[0-9]*/"train_steps": 20/' "$T/trainer.json" > "$T/short.json"
"$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/short.json" --output "$T/nowarm" --quiet > "$T/nowarm.out" 2> "$T/nowarm.err" ||
    { cat "$T/nowarm.err"; fail "cfx train without --raw-examples"; }
grep -qF 'warning: no --raw-examples: the bundle has no warm-up requests; cfx infravalidate will refuse it' \
    "$T/nowarm.err" || fail "no warning without --raw-examples: $(cat "$T/nowarm.err")"
grep -q '(0 warmup rows)' "$T/nowarm.out" || fail "expected 0 warmup rows: $(cat "$T/nowarm.out")"
[ -e "$T/nowarm/model/assets.extra/warmup.jsonl" ] && fail "warmup.jsonl without --raw-examples"

# Raw rows (examplegen's eval split) and the transformed rows the trainer
# evaluated must give the same probabilities, bit for bit.
"$CFX" predict --bundle "$M" --input "$T/examples/Split-eval" --output "$T/raw.csv"
"$CFX" predict --bundle "$M" --input "$T/xf/transformed_examples/Split-eval" --transformed \
    --output "$T/xf.csv"
cmp "$T/raw.csv" "$T/xf.csv" || fail "raw and transformed predictions differ"
[ "$(head -1 "$T/raw.csv")" = "probability,class" ] || fail "bad CSV header"
rows=$(($(wc -l < "$T/raw.csv") - 1))
[ "$rows" -gt 4000 ] || fail "only $rows eval predictions"

# CSV input (the raw file, label and unused columns ignored) -> JSON lines.
"$CFX" predict --bundle "$M" --input "$SRC/examples/taxi/data.csv" --output "$T/all.jsonl"
[ "$(wc -l < "$T/all.jsonl")" = 15002 ] || fail "expected 15002 JSON lines"
head -1 "$T/all.jsonl" | grep -Eq '^\{"probability":[0-9.e-]+,"class":[01]\}$' \
    || fail "bad JSON line: $(head -1 "$T/all.jsonl")"

# Inputs that share nothing with the model's raw inputs are refused, naming
# the file and the inputs; nothing reaches stdout or --output.
printf 'foo,bar\n1,2\n3,4\n' > "$T/foobar.csv"
if "$CFX" predict --bundle "$M" --input "$T/foobar.csv" > "$T/fb.out" 2> "$T/fb.err"; then
    fail "a CSV without any model input was accepted"
fi
grep -qF "foobar.csv: the header has none of the model's raw inputs (fare, " "$T/fb.err" ||
    fail "no-input CSV: $(cat "$T/fb.err")"
[ -s "$T/fb.out" ] && fail "no-input CSV wrote to stdout: $(head -2 "$T/fb.out")"
if "$CFX" predict --bundle "$M" --input "$T/xf/transformed_examples/Split-eval" \
    > "$T/tx.out" 2> "$T/tx.err"; then
    fail "transformed examples without --transformed were accepted"
fi
grep -q "transformed_examples-.*: the first record has none of the model's raw inputs (fare, .*pass --transformed" \
    "$T/tx.err" || fail "transformed without --transformed: $(cat "$T/tx.err")"
[ -s "$T/tx.out" ] && fail "transformed without --transformed wrote to stdout"
# Some inputs missing: a warning naming them, and predictions.
printf 'fare,trip_miles,foo\n5.0,1.0,x\n12.5,3.0,y\n' > "$T/some.csv"
"$CFX" predict --bundle "$M" --input "$T/some.csv" > "$T/some.out" 2> "$T/some.err" ||
    fail "a CSV with some inputs: $(cat "$T/some.err")"
grep -qF "warning: $T/some.csv: 14 of the model's 16 raw inputs are not in the header" "$T/some.err" ||
    fail "no warning for missing inputs: $(cat "$T/some.err")"
grep -q 'not in the header.*: trip_seconds, payment_type, ' "$T/some.err" ||
    fail "warning does not list the missing inputs: $(cat "$T/some.err")"
grep -q 'fare,\|, fare\|trip_miles, trip_seconds' "$T/some.err" && fail "warning lists present inputs"
[ "$(wc -l < "$T/some.out")" = 3 ] || fail "expected header + 2 rows: $(cat "$T/some.out")"
"$CFX" predict --bundle "$M" --input "$SRC/examples/taxi/data.csv" --output "$T/full.csv" 2> "$T/full.err"
grep -q warning "$T/full.err" && fail "warning with every input present: $(cat "$T/full.err")"
# A bad row: an error naming file:line, no partial header on stdout, no
# partial --output file.
printf 'fare,trip_miles\n1,2\n3,x\n' > "$T/bad.csv"
if "$CFX" predict --bundle "$M" --input "$T/bad.csv" > "$T/bad.out" 2> "$T/bad.err"; then
    fail "a bad row was accepted"
fi
grep -qF "bad.csv:3: column 'trip_miles': expected a number" "$T/bad.err" ||
    fail "bad row: $(cat "$T/bad.err")"
[ -s "$T/bad.out" ] && fail "a failed run left on stdout: $(cat "$T/bad.out")"
if "$CFX" predict --bundle "$M" --input "$T/bad.csv" --output "$T/bad-out.csv" 2> /dev/null; then
    fail "a bad row was accepted (--output)"
fi
ls "$T" | grep -q '^bad-out.csv' && fail "a failed run left $(ls "$T" | grep '^bad-out.csv')"
# an empty input is a header alone
printf 'fare,trip_miles\n' > "$T/empty.csv"
"$CFX" predict --bundle "$M" --input "$T/empty.csv" --output "$T/empty-out.csv" 2> /dev/null ||
    fail "an empty CSV"
[ "$(cat "$T/empty-out.csv")" = "probability,class" ] || fail "empty CSV: $(cat "$T/empty-out.csv")"

# A network with learned embeddings of the deep categoricals and dropout:
# the bundle records each width and holds each table; cfx predict and
# cfx-serve's REST API give the same float32 probabilities for the warm-up
# rows (one forward pass, model/network.c); an embedding_dim for an output
# that does not go into the deep part is refused naming it.
$PY - "$T/trainer.json" "$T/emb.json" "$T/emb_bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update({"train_steps": 300, "eval_every_steps": 300, "dropout": 0.2, "l2": 1e-4,
          "lr_decay_steps": 200, "lr_decay_rate": 0.5,
          "deep_categorical": ["payment_type_xf", "company_xf", "trip_start_hour_xf"],
          "embedding_dim": {"payment_type_xf": 2, "company_xf": 4}})
json.dump(c, open(sys.argv[2], "w"))
c["embedding_dim"] = {"pickup_latitude_xf": 2}
json.dump(c, open(sys.argv[3], "w"))
PY
"$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/emb.json" --raw-examples "$T/examples" --output "$T/emb" --quiet \
    > "$T/emb.out" 2> "$T/emb.err" || { cat "$T/emb.err"; fail "cfx train with embeddings"; }
E=$T/emb/model
$PY - "$E" "$E/assets.extra/warmup.jsonl" "$T/warm.csv" <<'PY'
import csv, json, os, struct, sys
m, warm, out = sys.argv[1:4]
man = json.load(open(os.path.join(m, "manifest.json")))
net = man["network"]
dims = {c["name"]: c.get("embedding_dim", 0) for c in net["categorical"]}
card = {c["name"]: c["cardinality"] for c in net["categorical"]}
assert dims["payment_type_xf"] == 2 and dims["company_xf"] == 4, dims
assert sum(dims.values()) == 6, dims
assert man["format_version"] == 2, man["format_version"]  # embeddings need 2
tr = man["training"]  # the regularisation it was trained with is recorded
assert (tr["dropout"], tr["l2"], tr["lr_decay_steps"], tr["lr_decay_rate"]) == (0.2, 1e-4, 200, 0.5), tr
raw = open(os.path.join(m, "variables/model.safetensors"), "rb").read()
(hl,) = struct.unpack("<Q", raw[:8])
hdr = json.loads(raw[8:8 + hl])
h0 = net["hidden_units"][0]
want = {"deep/dense_0/kernel": [len(net["dense"]) + 6, h0],
        "deep/embedding/payment_type_xf": [card["payment_type_xf"], 2],
        "deep/embedding/company_xf": [card["company_xf"], 4],
        "deep/dense_0/onehot/trip_start_hour_xf": [24, h0]}
for name, shape in want.items():
    assert hdr[name]["shape"] == shape, (name, hdr[name], shape)
assert not any(k.startswith("deep/dense_0/onehot/") and k.endswith(("payment_type_xf", "company_xf"))
               for k in hdr), sorted(hdr)
# the warm-up rows as a CSV (an absent feature is an empty cell)
names = [i["name"] for i in man["inputs"]]
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(names)
    for line in open(warm):
        r = json.loads(line)
        w.writerow(["" if r.get(n) is None else r[n] for n in names])
print("embedding bundle: widths and tensors verified")
PY
"$CFX" predict --bundle "$E" --input "$T/warm.csv" --output "$T/emb_pred.csv"
mkdir -p "$T/serving/taxi"
cp -r "$E" "$T/serving/taxi/1"
"$CFX_SERVE" --port=0 --rest_api_port=auto --num_threads=1 --model_name=taxi \
    --model_base_path="$T/serving/taxi" > "$T/serve.log" 2>&1 &
PIDS+=($!)
PORT=
for _ in $(seq 1 600); do
    PORT=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
    [ -n "$PORT" ] && curl -s "http://127.0.0.1:$PORT/v1/models/taxi" | grep -q AVAILABLE && break
    sleep 0.05
done
curl -s "http://127.0.0.1:$PORT/v1/models/taxi" | grep -q AVAILABLE || fail "cfx-serve did not serve the embedding bundle"
$PY - "$E/assets.extra/warmup.jsonl" > "$T/req.json" <<'PY'
import json, sys
print(json.dumps({"signature_name": "predict_raw",
                  "instances": [json.loads(l) for l in open(sys.argv[1])]}))
PY
curl -s -o "$T/rest.json" --data-binary @"$T/req.json" "http://127.0.0.1:$PORT/v1/models/taxi:predict" ||
    fail "REST predict"
$PY - "$T/emb_pred.csv" "$T/rest.json" <<'PY'
import csv, json, struct, sys
f32 = lambda x: struct.unpack("<f", struct.pack("<f", float(x)))[0]
offline = [f32(r["probability"]) for r in csv.DictReader(open(sys.argv[1]))]
served = [f32(p[0]) for p in json.load(open(sys.argv[2]))["predictions"]]
assert len(offline) == 10 and offline == served, (offline, served)
print("cfx predict and cfx-serve REST agree on %d rows" % len(offline))
PY
if "$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/emb_bad.json" --output "$T/emb_bad" --quiet > /dev/null 2> "$T/emb_bad.err"; then
    fail "an embedding_dim for a categorical outside the deep part was accepted"
fi
grep -qF "emb_bad.json: 'embedding_dim': 'pickup_latitude_xf' is not a categorical output of the transform graph that goes into the deep part" \
    "$T/emb_bad.err" || fail "embedding_dim outside the deep part: $(cat "$T/emb_bad.err")"

# Tampered bundles are refused, naming the file, expected and found values.
refused() { # name, expected message fragment
    if "$CFX" predict --bundle "$T/$1" --input "$SRC/examples/taxi/data.csv" \
        > /dev/null 2> "$T/$1.err"; then fail "$1: tampered bundle accepted"; fi
    grep -qF "$2" "$T/$1.err" || fail "$1: expected '$2', got: $(cat "$T/$1.err")"
}
cp -r "$M" "$T/flip"
python3 -c "
import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-5]^=1; open(p,'wb').write(b)" \
    "$T/flip/variables/model.safetensors"
refused flip "variables/model.safetensors: sha256 expected"
cp -r "$M" "$T/gone"; rm "$T/gone/assets/company_xf.txt"
refused gone "assets/company_xf.txt: listed in manifest.json but missing"
cp -r "$M" "$T/v9"; sed -i 's/"format_version": 1/"format_version": 9/' "$T/v9/manifest.json"
refused v9 "format_version 9 is not supported"
echo "PASS"
