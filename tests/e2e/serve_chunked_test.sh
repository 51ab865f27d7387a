#!/usr/bin/env bash
# serve_chunked_test.sh: chunked request bodies (RFC 9112 §7.1) on
# cfx-serve's REST port, against a real bundle built by the real commands.
#
# curl with "Transfer-Encoding: chunked" must get, byte for byte, the
# answer a Content-Length request gets (predict, classify, a gzip body).
# A raw-socket client then sends what curl cannot: chunks split at every
# byte across writes, extensions, trailers, uppercase hex, pipelining after
# a chunked request, 100-continue, the body limit exactly and one byte
# over (413), sizes that do not fit 64 bits, bare LF, ambiguous or unknown
# framing (400/501, connection closed), a trickled body (408 from the
# request read limit), and truncated bodies; python's http.client sends a
# generator body; the server keeps serving.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"

# --- a real bundle -------------------------------------------------------------
taxi_model 50 10 7
WARM="$T/models/taxi/1/assets.extra/warmup.jsonl"
[ -s "$WARM" ] || fail "bundle has no warmup rows"
ROW1=$(sed -n 1p "$WARM")
ROW2=$(sed -n 2p "$WARM")

# --- start ---------------------------------------------------------------------
# A small body limit to reach it cheaply; a short request read limit for
# the trickled body; an idle timeout longer than both.
serve_start "$T/serve.log" --num_threads=2 --model_name=taxi \
    --model_base_path="$T/models/taxi" --max_body_bytes=65536 \
    --request_read_timeout_seconds=2 --idle_timeout_seconds=30
serve_ports "$T/serve.log" "$SPID"
U="http://127.0.0.1:$RPORT"
for _ in $(seq 1 400); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/ready")" = 200 ] && break
    sleep 0.05
done

# --- curl: chunked and Content-Length answers are the same bytes -----------------
# post NAME PATH FILE [curl args...]: the Content-Length answer to NAME.cl, the
# chunked one to NAME.te; curl's trace must show it really sent chunks.
post() {
    local name=$1 path=$2 file=$3
    shift 3
    local code
    code=$(curl -s -o "$T/$name.cl" -w '%{http_code}' "$@" --data-binary @"$file" "$U$path")
    [ "$code" = 200 ] || fail "$name with Content-Length: HTTP $code: $(cat "$T/$name.cl")"
    code=$(curl -s -v -o "$T/$name.te" -w '%{http_code}' "$@" -H 'Transfer-Encoding: chunked' \
        --data-binary @"$file" "$U$path" 2>"$T/$name.trace")
    [ "$code" = 200 ] || fail "$name chunked: HTTP $code: $(cat "$T/$name.te")"
    grep -qi '^> Transfer-Encoding: chunked' "$T/$name.trace" || fail "$name: curl did not send chunked"
    if grep -qi '^> Content-Length' "$T/$name.trace"; then fail "$name: curl sent Content-Length"; fi
    cmp -s "$T/$name.cl" "$T/$name.te" || fail "$name: chunked answer differs: $(cat "$T/$name.te") vs $(cat "$T/$name.cl")"
}
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" >"$T/predict.json"
post predict /v1/models/taxi:predict "$T/predict.json"
grep -q '"predictions": \[\[' "$T/predict.te" || fail "predict answer: $(cat "$T/predict.te")"
echo "{\"examples\": [$ROW1, $ROW2]}" >"$T/classify.json"
post classify /v1/models/taxi:classify "$T/classify.json"
grep -q '"results"' "$T/classify.te" || fail "classify answer: $(cat "$T/classify.te")"
gzip -c "$T/predict.json" >"$T/predict.json.gz"
post gzip /v1/models/taxi:predict "$T/predict.json.gz" -H 'Content-Encoding: gzip'
cmp -s "$T/gzip.te" "$T/predict.te" || fail "gzip chunked answer differs from the plain one"

# --- raw sockets ---------------------------------------------------------------------
$PY - "$RPORT" "$T/predict.json" "$T/predict.cl" <<'PYEOF' || fail "raw chunked requests"
import socket, sys, time
port = int(sys.argv[1])
body = open(sys.argv[2], "rb").read().rstrip(b"\n")
want = open(sys.argv[3], "rb").read()
LIMIT = 65536
HEAD = b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    return s

def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise AssertionError("closed before a response: %r" % buf)
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise AssertionError("short body")
        rest += d
    return head, rest[:n], rest[n:]

def status(head):
    return int(head.split(b"\r\n", 1)[0].split(b" ")[1])

def closed(s):
    try:
        return s.recv(10) == b""
    except ConnectionResetError:
        return True

def chunks(data, sizes, upper=False, ext=b"", trailer=b""):
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        piece = data[i:i + n]
        i += n
        out.append((b"%X" if upper else b"%x") % len(piece) + ext + b"\r\n" + piece + b"\r\n")
    return b"".join(out) + b"0" + ext + b"\r\n" + trailer + b"\r\n"

def roundtrip(req, what, code=200):
    s = conn()
    s.sendall(req)
    h, b, rest = read_response(s)
    assert status(h) == code, (what, h, b)
    return s, h, b, rest

def refused(req, code, what):
    # An error on the framing: that status, then the connection closes.
    s, h, b, rest = roundtrip(req, what, code)
    assert b"Connection: close" in h, (what, h)
    assert rest == b"" and closed(s), (what, "not closed")
    s.close()

# Every chunk-size line form at once: uppercase and lowercase hex, leading zeros,
# extensions (with a quoted value and a bare name), trailers.
enc = chunks(body, [1, 31, 255, 7], upper=True, ext=b';name="v; x";flag',
             trailer=b"X-Checksum: abc\r\nX-Other:\r\n")
s, h, b, _ = roundtrip(HEAD + enc, "upper hex, extensions, trailers")
assert b == want, b
enc0 = chunks(body, [16]).replace(b"10\r\n", b"0010\r\n")
s, h, b, _ = roundtrip(HEAD + enc0, "leading zeros")
assert b == want, b

# Split at every byte: one byte per write, with a pause so that each tends to
# arrive in its own recv() on the server.
req = HEAD + chunks(body, [5, 64], ext=b";e=1", trailer=b"T: 1\r\n")
s = conn()
for i in range(len(req)):
    s.sendall(req[i:i + 1])
    if i % 2 == 0:
        time.sleep(0.0005)
h, b, rest = read_response(s)
assert status(h) == 200 and b == want, (h, b)
# ...and the same connection is still good for another chunked request.
s.sendall(HEAD + chunks(body, [100]))
h, b, rest = read_response(s, rest)
assert status(h) == 200 and b == want, (h, b)
s.close()

# Two-piece splits at every offset of a shorter chunked request, with a pipelined
# GET behind it so the body's end is found exactly.
small = HEAD + chunks(b"{\"instances\": []}" + b" " * 3, [4], ext=b";x", trailer=b"A: b\r\n")
get = b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\n\r\n"
full = small + get
s = conn()
for cut in range(1, len(full)):
    s.sendall(full[:cut])
    time.sleep(0.001)
    s.sendall(full[cut:])
    h1, b1, rest = read_response(s)
    h2, b2, rest = read_response(s, rest)
    assert status(h1) == 400 and b"error" in b1, (cut, h1, b1)  # the handler saw the body
    assert status(h2) == 200 and b"AVAILABLE" in b2, (cut, h2, b2)
    assert rest == b""
s.close()

# Pipelining: chunked, Content-Length, chunked, GET in one write; answers in order.
cl = b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
s = conn()
s.sendall(HEAD + chunks(body, [50]) + cl + HEAD + chunks(body, [333], trailer=b"X: y\r\n") + get)
rest = b""
for k in range(4):
    h, b, rest = read_response(s, rest)
    assert status(h) == 200, (k, h, b)
    assert k == 3 or b == want, (k, b)
s.close()

# Expect: 100-continue with a chunked body.
s = conn()
s.sendall(HEAD.replace(b"Host: x\r\n", b"Host: x\r\nExpect: 100-continue\r\n"))
d = s.recv(4096)
assert d.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), d
s.sendall(chunks(body, [64]))
h, b, _ = read_response(s, d[25:])
assert status(h) == 200 and b == want, (h, b)
s.close()

# The body limit counts decoded bytes: exactly 65536 (JSON padded with spaces) is
# answered, one byte more is 413, found at the size line before any data of it.
pad = body + b" " * (LIMIT - len(body))
s, h, b, _ = roundtrip(HEAD + chunks(pad, [4096]), "body at the limit")
assert b == want, b
over = HEAD + chunks(pad, [4096])[:-5] + b"1\r\n"
refused(over, 413, "body over the limit")
refused(HEAD + b"10001\r\n", 413, "one chunk over the limit")

# Malformed chunking: 400 and close.
refused(HEAD + b"FFFFFFFFFFFFFFFFFFFF\r\n", 400, "size over 64 bits")
# (Sent to end where the server stops reading: unread input would make its
# close a reset, which may drop the answer before it is read.)
refused(HEAD + b"0" * 4097, 400, "size line too long")
refused(HEAD + b"zz\r\n", 400, "not hex")
refused(HEAD + b"4\r\nWikipedia\r\n0\r\n\r\n", 400, "data longer than its size")
refused(HEAD + b"4\nWiki\n0\n\n", 400, "bare LF")
refused(HEAD + b"0\r\n folded: x\r\n\r\n", 400, "bad trailer")
refused(HEAD + b"0\r\nX: " + b"a" * (65537 - 3), 431, "trailers over the head limit")

# Framing the server cannot trust (RFC 9112 §6.1, §6.3): 400/501 and close.
P = b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\n"
refused(P + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, "TE and CL")
refused(P + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "CL and TE")
refused(P + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, "gzip, chunked")
refused(P + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, "two TE lines")
refused(P + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, "chunked not last")
refused(P + b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n", 400, "identity")
refused(P + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, "chunked twice")
refused(b"POST /v1/models/taxi:predict HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "HTTP/1.0")
# Case and spaces in the value are fine.
s, h, b, _ = roundtrip(P + b"Transfer-Encoding:  Chunked \r\n\r\n" + chunks(body, [99]), "Chunked")
assert b == want

# Truncated bodies, the client going away: nothing is answered, nothing breaks.
for cut in (len(HEAD), len(HEAD) + 3, len(HEAD) + 10):
    s = conn()
    s.sendall((HEAD + chunks(body, [20]))[:cut])
    time.sleep(0.05)
    s.close()

# A trickled body: bytes keep coming (so the idle timeout never fires) but the
# whole request is not in within --request_read_timeout_seconds=2: 408 and close.
s = conn()
s.sendall(HEAD + b"1000\r\n")
t0 = time.time()
got = b""
s.settimeout(0.25)
while time.time() - t0 < 6 and b"\r\n\r\n" not in got:
    try:
        s.sendall(b"x")
        d = s.recv(4096)
        if not d:
            break
        got += d
    except socket.timeout:
        pass
    except (BrokenPipeError, ConnectionResetError):
        break
el = time.time() - t0
assert got.startswith(b"HTTP/1.1 408 "), got
assert 1.5 < el < 4, el

# A client library's own chunking: http.client with a generator body (what
# streaming clients do), two requests on one keep-alive connection.
import http.client
hc = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for _ in range(2):
    hc.request("POST", "/v1/models/taxi:predict", body=(body[i:i + 40] for i in range(0, len(body), 40)),
               headers={"Content-Type": "application/json"}, encode_chunked=True)
    r = hc.getresponse()
    assert r.status == 200 and r.read() == want, r.status
hc.close()

# Still serving, on a fresh connection and with Content-Length.
s, h, b, _ = roundtrip(cl, "after the errors")
assert b == want
print("raw chunked requests: ok")
PYEOF
kill -0 "$SPID" || fail "cfx-serve died"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/models/taxi")
[ "$CODE" = 200 ] || fail "status after the chunked tests: HTTP $CODE"
kill -TERM "$SPID"
wait "$SPID" || fail "cfx-serve exit status $?"
if grep -q 'AddressSanitizer\|runtime error' "$T/serve.log"; then fail "sanitizer report"; fi
echo "serve_chunked_test: ok"
