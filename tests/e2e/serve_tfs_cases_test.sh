#!/usr/bin/env bash
# serve_tfs_cases_test.sh: TF Serving's own REST test cases, mapped onto the
# taxi model, against cfx-serve over HTTP. Taken from TF Serving's
# util/json_tensor_test.cc, model_servers/http_rest_api_handler_test.cc,
# http_rest_api_util_test.cc, get_model_status_impl_test.cc and
# tensorflow_model_server_test.py: their inputs, checks and error texts, with
# TF Serving's test model (one float input "x") replaced by the taxi
# signatures (docs/serving.md "Signatures"): a single unnamed input is
# serving_default's "examples" (DT_STRING), named inputs are predict_raw's
# raw features ("fare" DT_FLOAT, "trip_seconds" DT_INT64, "company"
# DT_STRING, ...).
#
# Every case asserts the HTTP status, and the whole body byte for byte:
#  - an error is {"error": msg} in TF Serving's layout, msg its full text
#    (values quoted as TF Serving quotes them; rendered here in Python);
#  - an answer is re-rendered here from its parsed values in TF Serving's
#    layout, with floats formatted by Python's own %g and numpy.float32
#    (TF Serving's rule: 6 digits, 9 when 6 do not read back, ".0"), and
#    must equal the body; the values are checked across paths (rows,
#    columns, serialized tf.Examples encoded by grpc_client.py, classify,
#    regress).
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"

taxi_model 300 50 7
cat >"$T/models.config" <<C
model_config_list {
  config {
    name: "taxi" base_path: "$T/models/taxi" model_platform: "tensorflow"
    version_labels { key: "stable" value: 1 }
  }
}
C
serve_start "$T/serve.log" --num_threads=2 --model_config_file="$T/models.config"
serve_ports "$T/serve.log" "$SPID"

E2E_DIR="$CFX_SOURCE_DIR/tests/e2e" "$PY" - "$RPORT" "$T/models/taxi/1/assets.extra/warmup.jsonl" <<'PYEOF' ||
    fail "TF Serving's cases"
import base64, http.client, json, math, os, sys
import numpy as np
sys.path.insert(0, os.environ["E2E_DIR"])
from grpc_client import example_from_row

port = int(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2])][:4]
failures = []

def call(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if isinstance(body, str):
        body = body.encode()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    ctype = r.getheader("Content-Type")
    c.close()
    return r.status, data.decode("utf-8", "replace"), ctype

# --- TF Serving's writers, independently in Python --------------------------
def tf_float(v):
    f = np.float32(v)
    if np.isnan(f):
        return "NaN"
    if np.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    s = "%.6g" % float(f)
    if np.float32(s) != f:
        s = "%.9g" % float(f)
    if "." not in s and "e" not in s:
        s += ".0"
    return s

def rj_string(s):  # RapidJSON's Writer::String
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == "\\": out.append("\\\\")
        elif o < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(o, "\\u%04X" % o))
        else: out.append(ch)
    out.append('"')
    return "".join(out)

def rj_double(d):  # RapidJSON's Writer::Double: shortest digits, Prettify
    if d == 0:
        return "-0.0" if math.copysign(1, d) < 0 else "0.0"
    sign = "-" if d < 0 else ""
    m, e = ("%r" % abs(d)), 0
    r = "%.17e" % abs(d)
    for p in range(1, 18):
        t = "%.*e" % (p - 1, abs(d))
        if float(t) == abs(d):
            r = t
            break
    mant, ex = r.split("e")
    dig = mant.replace(".", "").rstrip("0") or "0"
    k = int(ex) - (len(dig) - 1)
    kk = len(dig) + k
    if 0 <= k and kk <= 21: s = dig + "0" * k + ".0"
    elif 0 < kk <= 21: s = dig[:kk] + "." + dig[kk:]
    elif -6 < kk <= 0: s = "0." + "0" * (-kk) + dig
    elif len(dig) == 1: s = dig + "e%d" % (kk - 1)
    else: s = dig[0] + "." + dig[1:] + "e%d" % (kk - 1)
    return sign + s

class Stop(Exception): pass

def debug_string(v):
    """TF Serving's JsonValueToDebugString: PrettyWriter, single-line
    arrays, stopped at the first event once 256 bytes are written."""
    out = []
    size = [0]
    levels = []
    def emit(s):
        out.append(s); size[0] += len(s)
    def event():
        if size[0] >= 256: raise Stop()
    def prefix():
        if not levels: return
        l = levels[-1]
        if l[0]:
            if l[1] > 0: emit(", ")
        else:
            if l[1] > 0: emit(",\n" if l[1] % 2 == 0 else ": ")
            else: emit("\n")
            if l[1] % 2 == 0: emit("    " * len(levels))
        l[1] += 1
    def walk(x):
        event()
        if isinstance(x, list):
            prefix(); emit("["); levels.append([True, 0])
            for y in x: walk(y)
            event(); levels.pop(); emit("]")
        elif isinstance(x, Obj):
            prefix(); emit("{"); levels.append([False, 0])
            for k, y in x.pairs:
                event(); prefix(); emit(rj_string(k)); walk(y)
            event(); l = levels.pop()
            if l[1]: emit("\n" + "    " * len(levels))
            emit("}")
        elif isinstance(x, str): prefix(); emit(rj_string(x))
        elif x is True: prefix(); emit("true")
        elif x is False: prefix(); emit("false")
        elif x is None: prefix(); emit("null")
        elif isinstance(x, int): prefix(); emit(str(x))
        else:
            prefix()
            if math.isnan(x) or math.isinf(x): raise Stop()
            emit(rj_double(x))
    try: walk(v)
    except Stop: pass
    return "".join(out)

class Obj:
    def __init__(self, pairs): self.pairs = pairs

def parse(doc):  # keeps member order and duplicates, as RapidJSON's DOM
    return json.loads(doc, object_pairs_hook=Obj)

def error_body(msg):
    return "{\n    \"error\": " + rj_string(msg) + "\n}"

def rows_body(preds):
    if preds and isinstance(preds[0], dict):
        items = []
        for p in preds:
            members = ",".join("\n            " + rj_string(k) + ": [" +
                               ", ".join(rj_string(x) if isinstance(x, str) else tf_float(x) for x in v) + "]"
                               for k, v in p.items())
            items.append("\n        {" + members + "\n        }")
        return "{\n    \"predictions\": [" + ",".join(items) + "\n    ]\n}"
    return ("{\n    \"predictions\": [" +
            ", ".join("[" + ", ".join(tf_float(x) for x in r) + "]" for r in preds) + "\n    ]\n}")

def column(t, lvl):
    if not t: return "[]"
    ind = lambda n: "\n" + "    " * n
    return ("[" + ",".join(ind(lvl + 1) + "[" + ",".join(ind(lvl + 2) + (rj_string(x) if isinstance(x, str) else tf_float(x)) for x in r) + ind(lvl + 1) + "]" for r in t)
            + ind(lvl) + "]")

def cols_body(outs):
    if isinstance(outs, dict):
        return ("{\n    \"outputs\": {" + ",".join("\n        " + rj_string(k) + ": " + column(v, 2) for k, v in outs.items())
                + "\n    }\n}")
    return "{\n    \"outputs\": " + column(outs, 1) + "\n}"

def classify_body(res):
    return ("{\n    \"results\": [" + ", ".join("[" + ", ".join("[" + rj_string(l) + ", " + tf_float(s) + "]" for l, s in r) + "]" for r in res)
            + "\n    ]\n}")

def regress_body(res):
    return "{\n    \"results\": [" + ", ".join(tf_float(x) for x in res) + "]\n}"

# --- serialized tf.Examples, by the tests' own wire encoder (grpc_client.py)
def b64(row): return base64.b64encode(example_from_row(row)).decode()

# --- the cases ---------------------------------------------------------------
P = "/v1/models/taxi:predict"
C = "/v1/models/taxi:classify"
R = "/v1/models/taxi:regress"

def expect_error(name, path, body, code, msg, method="POST"):
    st, got, ctype = call(method, path, body)
    if st != code or got != error_body(msg) or ctype != "application/json":
        failures.append("%s: HTTP %s %r, want %s %r" % (name, st, got[:600], code, error_body(msg)[:600]))

def expect_ok(name, path, body, render):
    st, got, ctype = call("POST", path, body)
    if st != 200:
        failures.append("%s: HTTP %s %s" % (name, st, got[:400])); return None
    val = json.loads(got)
    want = render(val)
    if got != want or ctype != "application/json":
        failures.append("%s: body %r, TF Serving's layout %r" % (name, got[:400], want[:400]))
    return val

r0, r1 = rows[1], rows[2]
raw = lambda d: json.dumps(dict(d, signature_name="predict_raw"))

# Predict, rows and columns (json_tensor_test SingleUnnamedTensor / MultipleNamedTensor,
# handler Predict, model server testPredictREST / testPredictColumnarREST).
v = expect_ok("raw rows", P, raw({"instances": [r0, r1]}), lambda v: rows_body(v["predictions"]))
p_rows = [x[0] for x in v["predictions"]]
keys = sorted(set(r0) & set(r1))
same = [{k: r[k] for k in keys} for r in (r0, r1)]
v = expect_ok("raw rows, common keys", P, raw({"instances": same}), lambda v: rows_body(v["predictions"]))
p_same = [x[0] for x in v["predictions"]]
v = expect_ok("raw columns", P, raw({"inputs": {k: [r[k] for r in same] for k in keys}}), lambda v: cols_body(v["outputs"]))
assert [x[0] for x in v["outputs"]] == p_same, (v, p_same)
v = expect_ok("serialized rows", P, json.dumps({"instances": [{"b64": b64(r0)}, {"b64": b64(r1)}]}), lambda v: rows_body(v["predictions"]))
assert [x[0] for x in v["predictions"]] == p_rows
v = expect_ok("serialized rows, named", P, json.dumps({"instances": [{"examples": {"b64": b64(r0)}}]}), lambda v: rows_body(v["predictions"]))
assert v["predictions"][0][0] == p_rows[0]
v = expect_ok("serialized columns", P, json.dumps({"inputs": {"examples": [{"b64": b64(r0)}, {"b64": b64(r1)}]}}), lambda v: cols_body(v["outputs"]))
assert [x[0] for x in v["outputs"]] == p_rows
v = expect_ok("serialized columns, plain list", P, json.dumps({"inputs": [{"b64": b64(r0)}]}), lambda v: cols_body(v["outputs"]))
v = expect_ok("signature_name serving_default", P, json.dumps({"signature_name": "serving_default", "instances": [{"b64": b64(r0)}]}), lambda v: rows_body(v["predictions"]))
v = expect_ok("empty signature_name is the default", P, json.dumps({"signature_name": "", "instances": [{"b64": b64(r0)}]}), lambda v: rows_body(v["predictions"]))
v = expect_ok("version", "/v1/models/taxi/versions/1:predict", raw({"instances": [r0]}), lambda v: rows_body(v["predictions"]))
assert v["predictions"][0][0] == p_rows[0]
v = expect_ok("label", "/v1/models/taxi/labels/stable:predict", raw({"instances": [r0]}), lambda v: rows_body(v["predictions"]))
v = expect_ok("two outputs: classify signature via predict", P, json.dumps({"signature_name": "classify", "instances": [{"b64": b64(r0)}]}), lambda v: rows_body(v["predictions"]))
assert v["predictions"][0]["classes"] == ["0", "1"] and abs(v["predictions"][0]["scores"][1] - p_rows[0]) < 1e-6
expect_ok("two outputs, columns", P, json.dumps({"signature_name": "classify", "inputs": [{"b64": b64(r0)}, {"b64": b64(r1)}]}), lambda v: cols_body(v["outputs"]))
# an empty batch is an empty answer (TF Serving runs it)
expect_ok("empty batch", P, json.dumps({"inputs": {"examples": []}}), lambda v: cols_body(v["outputs"]))
st, got, _ = call("POST", P, json.dumps({"inputs": {"examples": []}}))
assert got == "{\n    \"outputs\": []\n}", got
# NaN / Infinity literals (RapidJSON kParseNanAndInfFlag), Python's json.dumps writes them
v = expect_ok("NaN", P, raw({"instances": [dict(r0, fare=float("nan"))]}), lambda v: rows_body(v["predictions"]))
v = expect_ok("Infinity", P, raw({"instances": [dict(r0, fare=float("inf")), dict(r0, fare=float("-inf"))]}), lambda v: rows_body(v["predictions"]))
v = expect_ok("NaN columns", P, '{"signature_name": "predict_raw", "inputs": {"fare": [NaN, Infinity, -Infinity, -Inf, Inf]}}', lambda v: cols_body(v["outputs"]))
assert len(v["outputs"]) == 5
# documents TF Serving's parser stops reading after the root value
v = expect_ok("trailing bytes after the root", P, raw({"instances": [r0]}) + "X", lambda v: rows_body(v["predictions"]))
# JsontensorTest.DeeplyNestedWellFormed
expect_ok("500000 levels in an ignored key", P,
          json.dumps({"instances": [{"b64": b64(r0)}]})[:-1] + ', "nested": ' + "[" * 500000 + "]" * 500000 + "}",
          lambda v: rows_body(v["predictions"]))
# duplicate top-level keys: the first counts (RapidJSON FindMember)
v = expect_ok("duplicate key", P, '{"signature_name": "predict_raw", "signature_name": 5, "instances": [%s]}' % json.dumps(r0), lambda v: rows_body(v["predictions"]))

# Classify / regress (handler Classify / Regress, model server tests).
v = expect_ok("classify", C, json.dumps({"examples": [r0, r1]}), lambda v: classify_body(v["results"]))
assert [x[1][1] for x in v["results"]] == [np.float32(p) for p in p_rows] or all(abs(x[1][1] - p) < 1e-6 for x, p in zip(v["results"], p_rows)), v
v = expect_ok("regress", R, json.dumps({"examples": [r0, r1]}), lambda v: regress_body(v["results"]))
assert all(abs(x - p) < 1e-6 for x, p in zip(v["results"], p_rows)), (v, p_rows)
ctx = {k: r0[k] for k in ("company", "payment_type") if k in r0}
v = expect_ok("regress with context", R, json.dumps({"context": ctx, "examples": [{k: x for k, x in r0.items() if k not in ctx}]}), lambda v: regress_body(v["results"]))
assert abs(v["results"][0] - p_rows[0]) < 1e-6
v = expect_ok("classify signature_name", C, json.dumps({"signature_name": "classify", "examples": [r0]}), lambda v: classify_body(v["results"]))
v = expect_ok("classify by label", "/v1/models/taxi/labels/stable:classify", json.dumps({"examples": [r0]}), lambda v: classify_body(v["results"]))
v = expect_ok("regress NaN feature", R, json.dumps({"examples": [dict(r0, fare=float("nan"))]}), lambda v: regress_body(v["results"]))
v = expect_ok("bool features are int64", R, json.dumps({"examples": [dict(r0, flag=[True, False])]}), lambda v: regress_body(v["results"]))

# --- errors -----------------------------------------------------------------
# JsontensorTest.SingleUnnamedTensorErrors / handler PredictRequestErrors
expect_error("empty document", P, "", 400, "JSON Parse error: The document is empty")
expect_error("whitespace document", P, "  \n", 400, "JSON Parse error: The document is empty. at offset: 3")
expect_error("badly formatted JSON", P, "instances = [1, 2]", 400, "JSON Parse error: Invalid value. at offset: 0")
expect_error("truncated JSON", P, '{"instances": [1', 400, "JSON Parse error: Missing a comma or ']' after an array element. at offset: 16")
expect_error("missing colon", P, '{"instances" [1]}', 400, "JSON Parse error: Missing a colon after a name of object member. at offset: 13")
expect_error("trailing comma", P, '{"instances": [1,]}', 400, "JSON Parse error: Invalid value. at offset: 17")
expect_error("bad escape", P, '{"a": "\\x"}', 400, "JSON Parse error: Invalid escape character in string. at offset: 7")
expect_error("lone surrogate", P, '{"a": "\\ud800"}', 400, "JSON Parse error: The surrogate pair in string is invalid. at offset: 7")
expect_error("NaN misspelt", P, '{"a": Nan}', 400, "JSON Parse error: Invalid value. at offset: 8")
expect_error("number too big", P, '{"a": 1e400}', 400, "JSON Parse error: Number too big to be stored in double. at offset: 6")
expect_error("fraction missing", P, '{"a": 1.}', 400, "JSON Parse error: Miss fraction part in number. at offset: 8")
doc = '[1, {"a": "x"}]'
expect_error("root not an object", P, doc, 400, "JSON Value: %s Is not object" % debug_string(parse(doc)))
for doc in ('{"signature_name": 5, "instances": [[1,2],[3,4],[5,6,7]]}', '{ "signature_name": 100 }',
            '{"signature_name": [ "hello" ], "examples": [ { "names": [ "foo", "bar" ] } ]}'):
    expect_error("signature_name not a string", P, doc, 400,
                 "JSON Value: %s not formatted correctly. 'signature_name' key must be a string value." % debug_string(parse(doc)))
# JsontensorTest.DeeplyNestedMalformed: the document is quoted until 256
# bytes are written: "{", "\n    " and the key are 22 bytes, ": " two more,
# then one "[" per event while fewer than 256 are written: 232 of them.
expect_error("500000 levels in signature_name", P, '{"signature_name":' + "[" * 500000 + "]" * 500000 + "}", 400,
             "JSON Value: {\n    \"signature_name\": " + "[" * 232 + " not formatted correctly. 'signature_name' key must be a string value.")
doc = '{"instances": [[1,2],[3,4],[5,6,7]], "inputs": [[1,2],[3,4],[5,6,7]]}'
expect_error("both keys", P, doc, 400, "JSON Value: %s Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist " % debug_string(parse(doc)))
expect_error("neither key", P, '{"x": 1}', 400, "Missing 'inputs' or 'instances' key")
doc = '{"instances": {"a": 1}}'
expect_error("instances not a list", P, doc, 400, "JSON Value: %s Expecting 'instances' to be an list/array" % debug_string(parse(doc)))
doc = '{"instances": []}'
expect_error("no instances", P, doc, 400, "JSON Value: %s No values in 'instances' array" % debug_string(parse(doc)))
E = "Failed to process element: %d key: %s of 'instances' list. Error: INVALID_ARGUMENT: %s"
expect_error("Expecting tensor size", P, raw({"instances": [{"fare": [1.0, 2.0]}, {"fare": [3.0, 4.0]}, {"fare": [5.0, 6.0, 7.0]}]}), 400,
             E % (2, "fare", "Expecting tensor size: 2 but got: 3"))
expect_error("Expecting shape", P, raw({"instances": [{"fare": [1.0, 2.0]}, {"fare": [3.0, 4.0]}, {"fare": [[5.0, 6.0]]}]}), 400,
             E % (2, "fare", "Expecting shape [2] but got: [1,2]"))
expect_error("Expecting shape, scalar then list", P, raw({"instances": [{"fare": 1.0}, {"fare": [1.0]}]}), 400,
             E % (1, "fare", "Expecting shape [] but got: [1]"))
expect_error("not of expected type: float", P, raw({"instances": [{"fare": [1.0, 2.0]}, {"fare": ["a", "b"]}]}), 400,
             E % (1, "fare", 'JSON Value: "a" Type: String is not of expected type: float'))
expect_error("not of expected type: int64", P, raw({"instances": [dict(r0, trip_seconds=1.5)]}), 400,
             E % (0, "trip_seconds", "JSON Value: 1.5 Type: Number is not of expected type: int64"))
expect_error("int64 from a big integer", P, raw({"instances": [dict(r0, trip_seconds=18446744073709551615)]}), 400,
             E % (0, "trip_seconds", "JSON Value: 18446744073709551615 Type: Number is not of expected type: int64"))
expect_error("int64 from NaN (not quotable)", P, '{"signature_name": "predict_raw", "instances": [{"trip_seconds": NaN}]}', 400,
             E % (0, "trip_seconds", "JSON Value:  Type: Number is not of expected type: int64"))
expect_error("string from a bool", P, raw({"instances": [dict(r0, company=True)]}), 400,
             E % (0, "company", "JSON Value: true Type: True is not of expected type: string"))
expect_error("float from an object", P, raw({"instances": [dict(r0, fare={"b64": "AA=="})]}), 400,
             E % (0, "fare", 'JSON Value: {\n    "b64": "AA=="\n} Type: Object is not of expected type: float'))
expect_error("found at incorrect level", P, raw({"instances": [{"fare": [[1.0], 2.0]}]}), 400,
             E % (0, "fare", "JSON Value: 2.0 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"))
expect_error("list at unexpected level", P, raw({"instances": [{"fare": [1.0, [2.0]]}]}), 400,
             E % (0, "fare", "Encountered list at unexpected level: 1 expected < 1"))
expect_error("list at unexpected size", P, raw({"instances": [{"fare": [[1.0, 2.0], [3.0]]}]}), 400,
             E % (0, "fare", "Encountered list at unexpected size: 1 at level: 1 expected size: 2"))
expect_error("unknown input", P, raw({"instances": [{"bogus": 1}]}), 400,
             E % (0, "bogus", "JSON object: does not have named input: bogus"))
# JsontensorTest.MultipleNamedTensorErrors
expect_error("Expecting object but got list", P, raw({"instances": [r0, [1, 20, 30], r1]}), 400,
             "Expecting object but got list at item 1 of input list")
expect_error("Expecting value/list but got object", P, json.dumps({"instances": [{"b64": b64(r0)}, {"examples": {"b64": b64(r1)}}]}), 400,
             "Expecting value/list but got object at item 1 of input list")
expect_error("plain list for several inputs", P, raw({"instances": [1.0, 2.0]}), 400,
             "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map")
expect_error("plain value for several inputs", P, raw({"inputs": [1.0, 2.0]}), 400,
             "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map")
expect_error("missing named input", P, json.dumps({"inputs": {"example": []}}), 400,
             "Missing named input: examples in 'inputs' object.")
E1 = "Failed to process element: %d of 'instances' list. Error: INVALID_ARGUMENT: %s"
expect_error("serialized: number", P, json.dumps({"instances": [1]}), 400, E1 % (0, "JSON Value: 1 Type: Number is not of expected type: string"))
expect_error("serialized: Expecting tensor size", P, json.dumps({"instances": [["a", "b"], ["c"]]}), 400, E1 % (1, "Expecting tensor size: 2 but got: 1"))
expect_error("serialized: bad base64", P, json.dumps({"instances": [{"b64": "!!!"}]}), 400, E1 % (0, "Unable to base64 decode"))
expect_error("serialized: b64 with another key", P, json.dumps({"instances": [{"examples": {"b64": "AA==", "x": 1}}]}), 400,
             "Failed to process element: 0 key: examples of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: "
             + debug_string(parse('{"b64": "AA==", "x": 1}')) + " not formatted correctly for base64 data")
# the signature, the model, the version (handler PredictModelNameVersionErrors)
expect_error("unknown signature", P, json.dumps({"signature_name": "nope", "instances": [1]}), 400,
             'Serving signature name: "nope" not found in signature def')
expect_error("unknown model", "/v1/models/foo:predict", '{ "instances": [1] }', 404, "Servable not found for request: Latest(foo)")
expect_error("unknown model version", "/v1/models/foo/versions/50:predict", '{ "instances": [1] }', 404, "Servable not found for request: Specific(foo, 50)")
expect_error("unknown version", "/v1/models/taxi/versions/99:predict", '{ "instances": [1] }', 404, "Servable not found for request: Specific(taxi, 99)")
expect_error("unknown label", "/v1/models/taxi/labels/nope:predict", '{ "instances": ["x", "y"] }', 400, "Unrecognized servable version label: nope")
expect_error("parse error before the model", "/v1/models/foo:predict", "instances = [1, 2]", 400, "JSON Parse error: Invalid value. at offset: 0")

# ClassifyRegressRequestTest.JsonErrors (the same on :classify and :regress)
for path in (C, R):
    doc = '{"signature_name": [ "hello" ], "examples": [ { "names": [ "foo", "bar" ] } ]}'
    expect_error("classify: signature_name", path, doc, 400,
                 "JSON Value: %s not formatted correctly. 'signature_name' key must be a string value." % debug_string(parse(doc)))
    expect_error("context not an object", path, '{"context": [ { "names": [ "foo", "bar" ] } ]}', 400, "Example must be JSON object but got JSON Array")
    doc = '{"examples": { "names": [ "foo", "bar" ] }}'
    expect_error("examples not a list", path, doc, 400, "JSON Value: %s Expecting 'examples' value to be an list/array" % debug_string(parse(doc)))
    expect_error("example not an object", path, '{"examples": [ [ { "names": [ "foo", "bar" ] } ] ]}', 400, "Example must be JSON object but got JSON Array")
    expect_error("null element", path, '{"examples": [ { "names": [ 10, null ] } ]}', 400, "Feature: names has element with unexpected JSON type: Null")
    expect_error("mixed int and float", path, '{"examples": [ { "names": [ 10, 10.0 ] } ]}', 400, "Unexpected element type in feature: names expecting type: int64")
    expect_error("object element", path, '{"examples": [ { "names": [ 10, { "test": 10 } ] } ]}', 400, "Feature: names has element with unexpected JSON type: Object")
    expect_error("nested list", path, '{"examples": [ { "names": [ [10], 20 ] } ]}', 400, "Feature: names has element with unexpected JSON type: Array")
    expect_error("uint64", path, '{"examples": [ { "names": [ 20, 18446744073709551603 ] } ]}', 400, "Feature: names has uint64_t element. Only int64_t is supported.")
    expect_error("bool after string", path, '{"examples": [ { "names": [ "a", true ] } ]}', 400, "Unexpected element type in feature: names expecting type: bytes")
    doc = '{"instances": [1]}'
    expect_error("examples missing", path, doc, 400, "JSON Value: %s When method is classify, key 'examples' is expected and was not found" % debug_string(parse(doc)))
    doc = '{"examples": []}'
    expect_error("examples empty", path, doc, 400, "JSON Value: %s 'examples' value is an empty array" % debug_string(parse(doc)))
    # context is read before examples
    expect_error("context before examples", path, '{"examples": [], "context": {"a": null}}', 400, "Feature: a has element with unexpected JSON type: Null")
    # the whole request is read before the model is looked up
    expect_error("request before model", path.replace("taxi", "foo"), '{"examples": [ { "names": [ 10, null ] } ]}', 400, "Feature: names has element with unexpected JSON type: Null")
    expect_error("unknown model", path.replace("taxi", "foo"), json.dumps({"examples": [r0]}), 404, "Servable not found for request: Latest(foo)")
    # TF Serving's classifier / regressor text for an unknown signature
    expect_error("unknown signature", path, json.dumps({"signature_name": "nope", "examples": [r0]}), 400,
                 "No signature was found with the name: nope")

# HttpRestApiHandlerTest.UnsupportedApiCalls and http_rest_api_util_test paths
for method, path in (("GET", "/v1/foo"), ("POST", "/v1/foo"), ("GET", "/v1/models/debug/model_name"), ("POST", "/v1/models"),
                     ("GET", "/v1/models/foo:predict"), ("GET", "/v1/models/foo/version/50:predict"),
                     ("POST", "/v1/models/foo/version/50:regress"), ("POST", "/v1/models/foo/versions/HELLO:regress"),
                     ("POST", "/v1/models/foo/metadata"), ("POST", "/v1/models/foo/label/some_label:regress"),
                     ("POST", "/v1/models/foo/versions/50/labels/some_label:regress"), ("POST", "/v1/models/foo/versions/some_label:regress")):
    expect_error("malformed %s %s" % (method, path), path, "", 400, "Malformed request: %s %s" % (method, path), method=method)
expect_error("no model name", "/v1/models", None, 400, "Missing model name in request.", method="GET")
st, got, _ = call("POST", "/v1/models/foo/versions/18446744073709551615:regress", "")
assert st == 400 and "Failed to convert version" in got, (st, got)

# GetModelStatusImplTest and testGetStatusREST
STATUS = '{\n "model_version_status": [\n  {\n   "version": "1",\n   "state": "AVAILABLE",\n   "status": {\n    "error_code": "OK",\n    "error_message": ""\n   }\n  }\n ]\n}\n'
for path in ("/v1/models/taxi", "/v1/models/taxi/versions/1", "/v1/models/taxi/labels/stable"):
    st, got, ctype = call("GET", path)
    if st != 200 or got != STATUS or ctype != "application/json":
        failures.append("status %s: %s %r" % (path, st, got))
expect_error("status of a missing version", "/v1/models/taxi/versions/9", None, 404, "Could not find version 9 of model taxi", method="GET")
expect_error("status of a missing model", "/v1/models/nope", None, 404, "Could not find any versions of model nope", method="GET")
st, got, _ = call("GET", "/v1/models/taxi/metadata")
m = json.loads(got)
assert st == 200 and m["model_spec"] == {"name": "taxi", "signature_name": "", "version": "1"}, got[:300]
assert set(m["metadata"]["signature_def"]["signature_def"]) == {"serving_default", "predict_raw", "classify", "regress"}

if failures:
    print("%d of TF Serving's cases failed:" % len(failures))
    for f in failures:
        print(" -", f)
    sys.exit(1)
print("TF Serving's cases: all passed")
PYEOF
kill -TERM "$SPID"
wait "$SPID" || fail "cfx-serve exit status"
echo "PASS: serve_tfs_cases_test"
