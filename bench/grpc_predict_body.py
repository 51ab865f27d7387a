"""grpc_predict_body.py PORT WARMUP_JSONL OUT: one raw row of the warm-up file
(predict_raw, dtypes from the server's own GetModelMetadata) as a
gRPC-framed PredictRequest body, for h2load -d. The benches share it."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import grpc_client as g
port, warmup, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
row = json.loads(open(warmup).readline())
c = g.Client(port)
code, det, r = c.call("/tensorflow.serving.PredictionService/GetModelMetadata",
                      g.ld(1, g.model_spec("taxi")) + g.ld(2, "signature_def"))
assert code == 0, det
meta = g.mapping(g.fields(r), 2)
sigs = g.mapping(g.fields(g.one(g.fields(meta["signature_def"]), 2)), 1)
inputs = b""
for k, ti in g.mapping(g.fields(sigs["predict_raw"]), 1).items():
    dt = g.one(g.fields(ti), 2)
    v = row.get(k)
    if isinstance(v, list):
        v = v[0] if v else None
    if dt == 9:
        t = g.tensor_int64_content([int(v or 0)])
    elif dt == 1:
        t = g.tensor_float_val([float(v or 0)])
    else:
        t = g.tensor_strings([str(v or "").encode()])
    inputs += g.ld(2, g.ld(1, k) + g.ld(2, t))
msg = g.ld(1, g.model_spec("taxi", signature="predict_raw")) + inputs
code, det, _ = c.call("/tensorflow.serving.PredictionService/Predict", msg)
assert code == 0, det
open(out, "wb").write(b"\0" + len(msg).to_bytes(4, "big") + msg)
