#!/usr/bin/python3
"""task_answers.py: a multi-class or regression model served by cfx-serve
answers over REST and gRPC exactly what `cfx predict` wrote for the same rows
(compared as float32, bit for bit), with the signatures of its task.

usage: task_answers.py GRPC_PORT REST_PORT MODEL TASK ROWS.csv EXPECTED.jsonl
  TASK            multiclass or regression
  ROWS.csv        raw rows with a header (what `cfx predict` read)
  EXPECTED.jsonl  `cfx predict --format jsonl` of them:
                  {"probabilities": [...], "class": "<label>"} or {"value": v}
Prints one line per check; exits 1 on the first failure. Uses the wire
helpers of grpc_client.py (beside this file).
"""
import csv
import http.client
import json
import struct
import sys

from grpc_client import (PS, Client, check, decode_tensor, example,
                         example_list_input, fields, floats, ld, mapping,
                         model_spec, one, tensor_strings)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(got, want, what):
    g = [f32(x) for x in got]
    w = [f32(x) for x in want]
    bad = [i for i, (a, b) in enumerate(zip(g, w)) if a != b]
    check(len(g) == len(w) and not bad,
          "%s equals cfx predict on %d values%s" %
          (what, len(w), "" if not bad else " (first difference at %d: %r vs %r)"
           % (bad[0], g[bad[0]], w[bad[0]])))


def rest(port, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST" if body is not None else "GET", path,
              json.dumps(body) if body is not None else None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


def main():
    gport, rport, model, task = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(sys.argv[5], newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [json.loads(line) for line in open(sys.argv[6])]
    check(len(expected) == len(rows), "cfx predict gave %d answers for %d rows"
          % (len(expected), len(rows)))
    multi = task == "multiclass"

    # Metadata: the signatures of the task and their shapes.
    st, meta = rest(rport, "/v1/models/%s/metadata" % model, None)
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    want = {"serving_default", "predict_raw", "classify" if multi else "regress"}
    check(st == 200 and set(sigs) == want, "REST metadata signatures %s" % sorted(sigs))
    raw = sigs["predict_raw"]["inputs"]
    dims = [int(d["size"]) for d in
            sigs["serving_default"]["outputs"]["outputs"]["tensor_shape"]["dim"]]
    width = len(expected[0]["probabilities"]) if multi else 1
    check(dims == [-1, width], "serving_default outputs shape %s" % dims)
    labels = []
    if multi:
        cdims = [int(d["size"]) for d in
                 sigs["classify"]["outputs"]["scores"]["tensor_shape"]["dim"]]
        check(cdims == [-1, width], "classify scores shape %s" % cdims)

    # The rows as JSON instances (by the raw input dtypes) and tf.Examples.
    instances, exs = [], []
    for r in rows:
        inst, feats = {}, {}
        for k, spec in raw.items():
            v = r.get(k, "")
            if v == "":
                continue
            dt = spec["dtype"]
            if dt == "DT_FLOAT":
                inst[k], feats[k] = float(v), ("float", [float(v)])
            elif dt == "DT_INT64":
                inst[k], feats[k] = int(v), ("int", [int(v)])
            else:
                inst[k], feats[k] = v, ("bytes", [v.encode()])
        instances.append(inst)
        exs.append(example(feats))
    want_vals = ([p for e in expected for p in e["probabilities"]] if multi
                 else [e["value"] for e in expected])

    # REST predict (row and column forms), classify or regress.
    st, r = rest(rport, "/v1/models/%s:predict" % model,
                 {"signature_name": "predict_raw", "instances": instances})
    check(st == 200, "REST predict_raw %d" % st)
    got = [x for row in r["predictions"] for x in (row if isinstance(row, list) else [row])]
    same(got, want_vals, "REST :predict")
    if multi:
        st, r = rest(rport, "/v1/models/%s:classify" % model, {"examples": instances})
        check(st == 200, "REST :classify %d" % st)
        labels = [c[0] for c in r["results"][0]]
        check(len(labels) == width and len(set(labels)) == width,
              "REST :classify names every class: %s" % labels)
        check(all([c[0] for c in res] == labels for res in r["results"]),
              "every REST :classify answer lists the classes in one order")
        same([c[1] for res in r["results"] for c in res], want_vals,
             "REST :classify scores")
        best = [labels[max(range(width), key=lambda j: res[j][1])] for res in r["results"]]
        check(best == [e["class"] for e in expected],
              "the most probable REST class is cfx predict's class on every row")
        st, r = rest(rport, "/v1/models/%s:regress" % model, {"examples": instances[:1]})
        check(st == 400, "REST :regress of a multi-class model is refused (%d %s)" % (st, r))
    else:
        st, r = rest(rport, "/v1/models/%s:regress" % model, {"examples": instances})
        check(st == 200, "REST :regress %d" % st)
        same(r["results"], want_vals, "REST :regress")
        st, r = rest(rport, "/v1/models/%s:classify" % model, {"examples": instances[:1]})
        check(st == 400, "REST :classify of a regression model is refused (%d %s)" % (st, r))

    # gRPC Predict on serialized tf.Examples.
    c = Client(gport)
    req = ld(1, model_spec(model)) + ld(2, ld(1, "examples") + ld(2, tensor_strings(exs)))
    code, det, r = c.call(PS + "Predict", req)
    check(code == 0, "gRPC Predict OK (%d %s)" % (code, det))
    dtype, dims, vals = decode_tensor(mapping(fields(r), 1)["outputs"])
    check(dtype == 1 and dims == [len(rows), width], "gRPC outputs DT_FLOAT %s" % dims)
    same(vals, want_vals, "gRPC Predict")
    inp = example_list_input(exs)
    if multi:
        code, det, r = c.call(PS + "Classify",
                              ld(1, model_spec(model, signature="classify")) + ld(2, inp))
        check(code == 0, "gRPC Classify OK (%d %s)" % (code, det))
        got, orders = [], []
        for _, cl in fields(one(fields(r), 1)).get(1, []):
            classes = [fields(x) for _, x in fields(cl).get(1, [])]
            orders.append([one(x, 1, b"").decode() for x in classes])
            got += [floats(x, 2)[0] if 2 in x else 0.0 for x in classes]
        check(len(orders) == len(rows) and all(o == labels for o in orders),
              "every gRPC Classify answer lists %s, as REST does" % labels)
        same(got, want_vals, "gRPC Classify scores")
        tasks = ld(1, ld(1, model_spec(model, signature="classify")) +
                   ld(2, "tensorflow/serving/classify"))
        code, det, r = c.call(PS + "MultiInference", tasks + ld(2, inp))
        check(code == 0, "gRPC MultiInference OK (%d %s)" % (code, det))
        res = [fields(x) for _, x in fields(r).get(1, [])]
        got = []
        for _, cl in fields(one(res[0], 2)).get(1, []):
            got += [floats(fields(x), 2)[0] if 2 in fields(x) else 0.0
                    for _, x in fields(cl).get(1, [])]
        same(got, want_vals, "gRPC MultiInference classification")
        code, det, _ = c.call(PS + "Regress",
                              ld(1, model_spec(model, signature="regress")) + ld(2, inp))
        check(code == 9 and "not found" in det,
              "gRPC Regress of a multi-class model: no regress signature (%d %s)"
              % (code, det))
    else:
        code, det, r = c.call(PS + "Regress",
                              ld(1, model_spec(model, signature="regress")) + ld(2, inp))
        check(code == 0, "gRPC Regress OK (%d %s)" % (code, det))
        got = [floats(fields(x), 1)[0] if 1 in fields(x) else 0.0
               for _, x in fields(one(fields(r), 1)).get(1, [])]
        same(got, want_vals, "gRPC Regress")
        tasks = ld(1, ld(1, model_spec(model, signature="regress")) +
                   ld(2, "tensorflow/serving/regress"))
        code, det, r = c.call(PS + "MultiInference", tasks + ld(2, inp))
        check(code == 0, "gRPC MultiInference OK (%d %s)" % (code, det))
        res = [fields(x) for _, x in fields(r).get(1, [])]
        got = [floats(fields(x), 1)[0] if 1 in fields(x) else 0.0
               for _, x in fields(one(res[0], 3)).get(1, [])]
        same(got, want_vals, "gRPC MultiInference regression")
        code, det, _ = c.call(PS + "Classify",
                              ld(1, model_spec(model, signature="classify")) + ld(2, inp))
        check(code == 9 and "not found" in det,
              "gRPC Classify of a regression model: no classify signature (%d %s)"
              % (code, det))


if __name__ == "__main__":
    main()
