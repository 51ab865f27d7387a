#!/usr/bin/python3
"""grpc_client.py: a TF Serving gRPC client for the cfx-serve e2e test.

Uses only Debian's python3-grpcio (no generated protobuf code): requests are
protobuf wire bytes built by the small encoder below and sent through
grpc's generic unary call; responses are walked by the small decoder. Field
numbers are those of the tensorflow_serving protos.

usage: grpc_client.py PORT MODEL ROWS.csv EXPECTED.csv [BASE_PATH]
       grpc_client.py --mutate N PORT MODEL
  --mutate: N requests made by corrupting valid ones (seeded, so a failure
  reproduces); every call must get a status and the server must stay up.
  ROWS.csv      raw taxi rows with a header (the rows `cfx predict` read)
  EXPECTED.csv  `cfx predict` output for them (probability,class per row)
env: CFX_GRPC_CA (and CFX_GRPC_CERT, CFX_GRPC_KEY): call over TLS (mutual).
Prints one line per check; exits 1 on the first failure.
"""
import csv
import os
import struct
import sys

import grpc

from tfrecord_reader import fields as wire_fields  # beside this file

# --- protobuf wire encoding -------------------------------------------------


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def ld(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return key(field, 2) + varint(len(payload)) + payload


def vint(field, n):
    return key(field, 0) + varint(n)


# --- protobuf wire decoding -------------------------------------------------


def fields(b):
    """message bytes -> {field: [(wire type, value)]}"""
    out = {}
    for f, wt, v in wire_fields(b):
        out.setdefault(f, []).append((wt, v))
    return out


def one(fs, f, default=None):
    return fs[f][-1][1] if f in fs else default


def signed64(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def floats(fs, f):
    vals = []
    for wt, v in fs.get(f, []):
        if wt == 2:
            vals += list(struct.unpack("<%df" % (len(v) // 4), v))
        else:
            vals.append(struct.unpack("<f", v)[0])
    return vals


def mapping(fs, f):
    return {one(fields(e), 1, b"").decode(): one(fields(e), 2, b"")
            for _, e in fs.get(f, [])}


# --- TF Serving messages ----------------------------------------------------


def model_spec(name, version=None, signature="", label=None):
    b = ld(1, name)
    if version is not None:
        b += ld(2, vint(1, version))
    if label is not None:
        b += ld(4, label)
    if signature:
        b += ld(3, signature)
    return b


def shape(dims):
    return b"".join(ld(2, vint(1, d)) for d in dims)


def tensor_strings(vals):
    return vint(1, 7) + ld(2, shape([len(vals)])) + b"".join(ld(8, v) for v in vals)


def tensor_int64_content(vals):
    return (vint(1, 9) + ld(2, shape([len(vals)])) +
            ld(4, struct.pack("<%dq" % len(vals), *vals)))


def tensor_float_val(vals):
    return (vint(1, 1) + ld(2, shape([len(vals)])) +
            ld(5, struct.pack("<%df" % len(vals), *vals)))


def decode_tensor(b):
    fs = fields(b)
    dims = [signed64(one(fields(d), 1, 0)) for _, d in fields(one(fs, 2, b"")).get(2, [])]
    dtype = one(fs, 1, 0)
    if dtype == 1:
        content = one(fs, 4)
        vals = (list(struct.unpack("<%df" % (len(content) // 4), content))
                if content else floats(fs, 5))
    elif dtype == 7:
        vals = [v for _, v in fs.get(8, [])]
    else:
        vals = None
    return dtype, dims, vals


def decode_spec(b):
    fs = fields(b)
    version = one(fields(one(fs, 2, b"")), 1, None) if 2 in fs else None
    return (one(fs, 1, b"").decode(), version, one(fs, 3, b"").decode())


def example(feats):
    """{name: ("int"|"float"|"bytes", [values])} -> serialized tf.Example"""
    entries = b""
    for name, (kind, vals) in sorted(feats.items()):
        if kind == "bytes":
            feat = ld(1, b"".join(ld(1, v) for v in vals))
        elif kind == "float":
            feat = ld(2, ld(1, struct.pack("<%df" % len(vals), *vals)))
        else:
            feat = ld(3, ld(1, b"".join(varint(v) for v in vals)))
        entries += ld(1, ld(1, name) + ld(2, feat))
    return ld(1, entries)


def example_from_row(row):
    """A raw JSON row {name: value} -> serialized tf.Example, one value per
    feature: a string as a bytes_list, a float as a float_list, an int as
    an int64_list."""
    def kind(v):
        return "bytes" if isinstance(v, str) else "float" if isinstance(v, float) else "int"
    return example({k: (kind(v), [v]) for k, v in row.items()})


def example_list_input(examples):
    return ld(1, b"".join(ld(1, e) for e in examples))


# --- the test ---------------------------------------------------------------

FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)
        print("\n".join("FAILED: " + f for f in FAILED), file=sys.stderr)
        sys.exit(1)


class Client:
    def __init__(self, port):
        # TLS when CFX_GRPC_CA names the CA (PEM) of the server's
        # certificate, which is made for "localhost"; mutual TLS when
        # CFX_GRPC_CERT and CFX_GRPC_KEY name a client certificate and key.
        ca = os.environ.get("CFX_GRPC_CA")
        if not ca:
            self.channel = grpc.insecure_channel("127.0.0.1:%d" % port)
            return

        def pem(var):
            path = os.environ.get(var)
            return open(path, "rb").read() if path else None
        creds = grpc.ssl_channel_credentials(
            root_certificates=pem("CFX_GRPC_CA"), private_key=pem("CFX_GRPC_KEY"),
            certificate_chain=pem("CFX_GRPC_CERT"))
        self.channel = grpc.secure_channel("localhost:%d" % port, creds)

    def call(self, method, req, compression=None):
        """-> (status code int, details, response bytes)"""
        fn = self.channel.unary_unary(method, request_serializer=None,
                                      response_deserializer=None)
        # The admin RPC needs the server's admin token, the others its
        # inference token when it has one (docs/serving.md).
        md = None
        admin = method.endswith("/HandleReloadConfigRequest")
        token = os.environ.get("CFX_ADMIN_TOKEN" if admin else "CFX_INFERENCE_TOKEN")
        if token:
            md = [("authorization", "Bearer " + token)]
        try:
            return 0, "", fn(req, timeout=30, compression=compression,
                             metadata=md)
        except grpc.RpcError as e:
            return e.code().value[0], e.details(), None


PS = "/tensorflow.serving.PredictionService/"
MS = "/tensorflow.serving.ModelService/"


def main():
    port, model, rows_path, expected_path = (int(sys.argv[1]), sys.argv[2],
                                             sys.argv[3], sys.argv[4])
    c = Client(port)
    with open(rows_path, newline="") as f:
        rows = list(csv.DictReader(f))
    expected = []
    with open(expected_path) as f:
        for line in f:
            first = line.strip().split(",")[0]
            try:
                expected.append(float(first))
            except ValueError:
                pass  # header
    check(len(expected) == len(rows), "cfx predict gave %d values for %d rows"
          % (len(expected), len(rows)))

    # Health
    code, _, r = c.call("/grpc.health.v1.Health/Check", b"")
    check(code == 0 and one(fields(r), 1) == 1, "Health '' is SERVING")
    code, _, r = c.call("/grpc.health.v1.Health/Check",
                        ld(1, "tensorflow.serving.PredictionService"))
    check(code == 0 and one(fields(r), 1) == 1, "Health PredictionService is SERVING")
    code, _, _ = c.call("/grpc.health.v1.Health/Check", ld(1, "nope"))
    check(code == 5, "Health of an unknown service is NOT_FOUND (got %d)" % code)

    # Metadata: the raw signature tells the input names and dtypes.
    code, det, r = c.call(PS + "GetModelMetadata",
                          ld(1, model_spec(model)) + ld(2, "signature_def"))
    check(code == 0, "GetModelMetadata OK (%d %s)" % (code, det))
    fs = fields(r)
    name, version, _ = decode_spec(one(fs, 1))
    check(name == model and version is not None and version > 0,
          "metadata model_spec %s v%s" % (name, version))
    meta = mapping(fs, 2)
    anyf = fields(meta["signature_def"])
    check(one(anyf, 1) == b"type.googleapis.com/tensorflow.serving.SignatureDefMap",
          "metadata Any type_url")
    sigs = {k: fields(v) for k, v in mapping(fields(one(anyf, 2)), 1).items()}
    check(set(sigs) >= {"serving_default", "predict_raw", "classify", "regress"},
          "signatures %s" % sorted(sigs))
    check(one(sigs["classify"], 3) == b"tensorflow/serving/classify",
          "classify method_name")
    raw_inputs = {}
    for k, ti in mapping(sigs["predict_raw"], 1).items():
        raw_inputs[k] = one(fields(ti), 2)
    check(len(raw_inputs) > 0 and set(raw_inputs.values()) <= {1, 7, 9},
          "predict_raw inputs %s" % raw_inputs)
    code, _, _ = c.call(PS + "GetModelMetadata", ld(1, model_spec(model)))
    check(code == 3, "metadata without metadata_field is INVALID_ARGUMENT")

    # Rows -> examples (empty cells left out) and raw columns (empty -> 0/"",
    # the transform's own fill for a missing value).
    exs, cols, row_feats = [], {k: [] for k in raw_inputs}, []
    for row in rows:
        feats = {}
        for k, dt in raw_inputs.items():
            v = row.get(k, "")
            if dt == 9:
                cols[k].append(int(v) if v != "" else 0)
                if v != "":
                    feats[k] = ("int", [int(v)])
            elif dt == 1:
                cols[k].append(float(v) if v != "" else 0.0)
                if v != "":
                    feats[k] = ("float", [float(v)])
            else:
                cols[k].append(v.encode())
                if v != "":
                    feats[k] = ("bytes", [v.encode()])
        exs.append(example(feats))
        row_feats.append(feats)

    def close(got, what, tol=1e-5):
        worst = max(abs(a - b) for a, b in zip(got, expected)) if got else 1
        check(len(got) == len(expected) and worst <= tol,
              "%s matches cfx predict on %d rows (max |diff| %.2g, tol %g)"
              % (what, len(got), worst, tol))

    # Predict, serving_default: serialized tf.Example strings.
    req = ld(1, model_spec(model)) + ld(2, ld(1, "examples") + ld(2, tensor_strings(exs)))
    code, det, r = c.call(PS + "Predict", req)
    check(code == 0, "Predict serving_default OK (%d %s)" % (code, det))
    fs = fields(r)
    outs = mapping(fs, 1)
    dtype, dims, vals = decode_tensor(outs["outputs"])
    check(dtype == 1 and dims == [len(rows), 1], "outputs DT_FLOAT %s" % dims)
    close(vals, "Predict serving_default")
    check(decode_spec(one(fs, 2)) == (model, version, "serving_default"),
          "response model_spec %s" % (decode_spec(one(fs, 2)),))

    # Predict, predict_raw: int64 in tensor_content, floats in float_val,
    # strings in string_val.
    inputs = b""
    for k, dt in raw_inputs.items():
        t = (tensor_int64_content(cols[k]) if dt == 9 else
             tensor_float_val(cols[k]) if dt == 1 else tensor_strings(cols[k]))
        inputs += ld(2, ld(1, k) + ld(2, t))
    req = ld(1, model_spec(model, version, "predict_raw")) + inputs + ld(3, "outputs")
    code, det, r = c.call(PS + "Predict", req)
    check(code == 0, "Predict predict_raw OK (%d %s)" % (code, det))
    close(decode_tensor(mapping(fields(r), 1)["outputs"])[2], "Predict predict_raw")

    # The same call with a gzip-compressed request (grpcio compresses).
    req = ld(1, model_spec(model)) + ld(2, ld(1, "examples") + ld(2, tensor_strings(exs)))
    code, det, r = c.call(PS + "Predict", req, compression=grpc.Compression.Gzip)
    check(code == 0, "gzip-compressed Predict OK (%d %s)" % (code, det))
    close(decode_tensor(mapping(fields(r), 1)["outputs"])[2], "gzip-compressed Predict")

    # Predict errors, with TF Serving's codes.
    base = ld(2, ld(1, "examples") + ld(2, tensor_strings(exs[:1])))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model, signature="nope")) + base)
    check(code == 9 and 'Serving signature key "nope" not found' in det,
          "unknown signature is FAILED_PRECONDITION (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec("nomodel")) + base)
    check(code == 5, "unknown model is NOT_FOUND (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model, 999)) + base)
    check(code == 5, "unknown version is NOT_FOUND (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model)) + base + ld(3, "nope"))
    check(code == 3 and "output tensor alias not found" in det,
          "unknown output_filter is INVALID_ARGUMENT (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model)) +
                          ld(2, ld(1, "x") + ld(2, tensor_strings(exs[:1]))))
    check(code == 3 and "input size does not match signature" in det,
          "wrong input name is INVALID_ARGUMENT (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", base)
    check(code == 3 and "Missing ModelSpec" in det, "no model_spec (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model)) +
                          ld(2, ld(1, "examples") + ld(2, tensor_strings([b"\x0a\x07zz"]))))
    check(code == 3, "unparsable tf.Example is INVALID_ARGUMENT (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Predict", b"\x0a\x05ab")
    check(code == 3, "truncated protobuf is INVALID_ARGUMENT (%d %s)" % (code, det))

    # Classify / Regress / MultiInference over the same examples.
    inp = example_list_input(exs)
    code, det, r = c.call(PS + "Classify", ld(1, model_spec(model, signature="classify")) + ld(2, inp))
    check(code == 0, "Classify OK (%d %s)" % (code, det))
    got = []
    for _, cl in fields(one(fields(r), 1)).get(1, []):
        classes = [fields(x) for _, x in fields(cl).get(1, [])]
        labels = [one(x, 1, b"") for x in classes]
        check(labels == [b"0", b"1"], "classify labels %s" % labels) if not got else None
        got.append(floats(classes[1], 2)[0])
    close(got, "Classify score of class 1")
    # example_list_with_context: half of row 0's features in the context,
    # the other half in the example; and an example that overrides every
    # context feature. Both must score as row 0.
    f0 = row_feats[0]
    names = sorted(f0)
    ctx_half = {k: f0[k] for k in names[::2]}
    ex_half = {k: f0[k] for k in names[1::2]}
    junk = {k: (("bytes", [b"zz"]) if v[0] == "bytes" else (v[0], [v[1][0] * 0 + 7]))
            for k, v in f0.items()}
    for what, e, cx in (("split across context", ex_half, ctx_half),
                        ("example wins over context", f0, junk)):
        wc = ld(2, ld(2, ld(1, example(e)) + ld(2, example(cx))))
        code, det, r = c.call(PS + "Classify",
                              ld(1, model_spec(model, signature="classify")) + wc)
        check(code == 0, "Classify with context, %s (%d %s)" % (what, code, det))
        cl = fields(one(fields(r), 1))[1][0][1]
        score = floats(fields(fields(cl)[1][1][1]), 2)[0]
        check(abs(score - expected[0]) <= 1e-5,
              "context, %s: score %.6f vs cfx predict %.6f" % (what, score, expected[0]))
    code, det, _ = c.call(PS + "Classify", ld(1, model_spec(model)) + ld(2, inp))
    check(code == 3 and "classification signature" in det,
          "Classify on serving_default is INVALID_ARGUMENT (%d %s)" % (code, det))
    code, det, _ = c.call(PS + "Classify", ld(1, model_spec(model, signature="classify")) +
                          ld(2, ld(1, b"")))
    check(code == 3 and det == "Input is empty.", "empty Input (%d %s)" % (code, det))
    code, det, r = c.call(PS + "Regress", ld(1, model_spec(model, signature="regress")) + ld(2, inp))
    check(code == 0, "Regress OK (%d %s)" % (code, det))
    got = [floats(fields(x), 1)[0] for _, x in fields(one(fields(r), 1)).get(1, [])]
    close(got, "Regress value")
    tasks = (ld(1, ld(1, model_spec(model, signature="classify")) +
                ld(2, "tensorflow/serving/classify")) +
             ld(1, ld(1, model_spec(model, signature="regress")) +
                ld(2, "tensorflow/serving/regress")))
    code, det, r = c.call(PS + "MultiInference", tasks + ld(2, inp))
    check(code == 0, "MultiInference OK (%d %s)" % (code, det))
    results = [fields(x) for _, x in fields(r).get(1, [])]
    check(len(results) == 2 and 2 in results[0] and 3 in results[1],
          "MultiInference has a classification and a regression result")
    got = [floats(fields(x), 1)[0] for _, x in fields(one(results[1], 3)).get(1, [])]
    close(got, "MultiInference regression")
    code, det, _ = c.call(PS + "MultiInference", tasks + tasks + ld(2, inp))
    check(code == 3 and "Duplicate" in det, "duplicate signature (%d %s)" % (code, det))

    # Status and reload.
    code, det, r = c.call(MS + "GetModelStatus", ld(1, model_spec(model)))
    check(code == 0, "GetModelStatus OK (%d %s)" % (code, det))
    st = [fields(x) for _, x in fields(r).get(1, [])]
    check(len(st) >= 1 and one(st[0], 1) == version and one(st[0], 2) == 30 and
          one(fields(one(st[0], 3, b"")), 1, 0) == 0,
          "version %s AVAILABLE with OK status" % version)
    code, det, _ = c.call(MS + "GetModelStatus", b"")
    check(code == 3 and det == "Missing ModelSpec", "status without spec (%d %s)" % (code, det))
    code, det, _ = c.call(MS + "GetModelStatus", ld(1, model_spec("nomodel")))
    check(code == 5, "status of an unknown model is NOT_FOUND (%d %s)" % (code, det))
    if len(sys.argv) > 5:
        base_path = sys.argv[5]
        cfg = ld(1, ld(1, ld(1, model) + ld(2, base_path) + ld(4, "tensorflow")))
        code, det, r = c.call(MS + "HandleReloadConfigRequest", ld(1, cfg))
        check(code == 0 and one(fields(one(fields(r), 1, b"")), 1, 0) == 0,
              "HandleReloadConfigRequest with the same model (%d %s)" % (code, det))
        # A second model from the same versions: loaded before the answer.
        two = cfg + ld(1, ld(1, ld(1, model + "2") + ld(2, base_path) +
                             ld(4, "tensorflow")))
        code, det, r = c.call(MS + "HandleReloadConfigRequest", ld(1, two))
        check(code == 0, "reload adding %s2 (%d %s)" % (model, code, det))
        code, det, r = c.call(MS + "GetModelStatus", ld(1, model_spec(model + "2")))
        st = [fields(x) for _, x in fields(r or b"").get(1, [])]
        check(code == 0 and st and one(st[0], 2) == 30,
              "%s2 AVAILABLE when the reload answers (%d %s)" % (model, code, det))
        code, det, r = c.call(PS + "Predict", ld(1, model_spec(model + "2")) +
                              ld(2, ld(1, "examples") + ld(2, tensor_strings(exs))))
        check(code == 0, "Predict on %s2 (%d %s)" % (model, code, det))
        close(decode_tensor(mapping(fields(r), 1)["outputs"])[2], "Predict on the reloaded model")
        code, det, _ = c.call(MS + "HandleReloadConfigRequest", ld(1, cfg))
        check(code == 0, "reload back to one model (%d %s)" % (code, det))
        code, det, _ = c.call(PS + "Predict", ld(1, model_spec(model + "2")) +
                              ld(2, ld(1, "examples") + ld(2, tensor_strings(exs))))
        check(code == 5, "removed model is NOT_FOUND (%d %s)" % (code, det))
        code, det, _ = c.call(MS + "HandleReloadConfigRequest",
                              ld(1, ld(1, ld(1, ld(1, model) + ld(2, "relative/path") +
                                                ld(4, "tensorflow")))))
        check(code == 3, "reload with a relative base_path is INVALID_ARGUMENT (%d %s)"
              % (code, det))

    code, _, _ = c.call("/tensorflow.serving.Nope/Nope", b"")
    check(code == 12, "unknown method is UNIMPLEMENTED (%d)" % code)
    code, _, r = c.call("/grpc.health.v1.Health/Check", b"")
    check(code == 0 and one(fields(r), 1) == 1, "still SERVING after the errors")
    print("all gRPC checks passed")


def mutate(n, port, model):
    import random
    rnd = random.Random(1234)
    c = Client(port)
    ex = example({"trip_miles": ("float", [1.5]), "payment_type": ("bytes", [b"Cash"]),
                  "trip_start_hour": ("int", [7])})
    inp = ld(2, example_list_input([ex, ex]))
    seeds = [
        (PS + "Predict", ld(1, model_spec(model)) +
         ld(2, ld(1, "examples") + ld(2, tensor_strings([ex, ex]))) + ld(3, "outputs")),
        (PS + "Predict", ld(1, model_spec(model, 1, "predict_raw")) +
         ld(2, ld(1, "trip_miles") + ld(2, tensor_float_val([1.0, 2.0]))) +
         ld(2, ld(1, "trip_start_hour") + ld(2, tensor_int64_content([3, 4])))),
        (PS + "Classify", ld(1, model_spec(model, signature="classify")) + inp),
        (PS + "Regress", ld(1, model_spec(model, signature="regress")) + inp),
        (PS + "MultiInference",
         ld(1, ld(1, model_spec(model, signature="classify")) +
            ld(2, "tensorflow/serving/classify")) + inp),
        (PS + "GetModelMetadata", ld(1, model_spec(model)) + ld(2, "signature_def")),
        (MS + "GetModelStatus", ld(1, model_spec(model, 1))),
        ("/grpc.health.v1.Health/Check", ld(1, "ModelService")),
    ]
    codes = {}
    for i in range(n):
        method, req = seeds[i % len(seeds)]
        b = bytearray(req)
        for _ in range(rnd.randint(1, 4)):
            op = rnd.randint(0, 3)
            pos = rnd.randrange(len(b)) if b else 0
            if op == 0 and b:
                b[pos] = rnd.randrange(256)
            elif op == 1:
                b[pos:pos] = bytes([rnd.randrange(256)])
            elif op == 2 and b:
                del b[pos:pos + rnd.randint(1, 8)]
            else:
                b = b[:pos]
        code, _, _ = c.call(method, bytes(b))
        codes[code] = codes.get(code, 0) + 1
    print("mutated requests by status code: %s" % dict(sorted(codes.items())))
    check(14 not in codes, "no call found the server unavailable")
    code, _, r = c.call("/grpc.health.v1.Health/Check", b"")
    check(code == 0 and one(fields(r), 1) == 1, "SERVING after %d mutated requests" % n)


if __name__ == "__main__":
    if sys.argv[1] == "--mutate":
        mutate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
