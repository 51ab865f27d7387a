#!/usr/bin/python3
"""hostile_client.py: the hostile clients of serve_hostile_test.sh.

usage: hostile_client.py bigexample PORT MODEL NFEAT
         one gRPC Predict holding a single tf.Example with NFEAT int64
         features; prints "<grpc status code> <seconds>"
       hostile_client.py classify_calls PORT MODEL N TRIES DELAY
         a gRPC Classify of N empty examples, sent TRIES times DELAY
         seconds apart; prints each "<grpc status code> <details>"
       hostile_client.py classify_body N
         a REST :classify body of N tiny examples, on stdout
       hostile_client.py zerowindow PORT MODEL NSTREAMS BATCH SECONDS
         raw HTTP/2 over a socket: SETTINGS_INITIAL_WINDOW_SIZE=0, then
         NSTREAMS gRPC Classify calls of BATCH empty examples each (large
         answers), never sending WINDOW_UPDATE, so no answer's DATA can
         come; reads frames until every call has begun its answer or been
         reset, or SECONDS passed; prints "<bytes sent> <answers begun>
         <streams reset with ENHANCE_YOUR_CALM>"
Requests are protobuf wire bytes built with grpc_client.py's encoder.
"""
import socket
import struct
import sys
import time

from grpc_client import Client, PS, ld, model_spec, tensor_strings, varint


def bigexample(port, model, nfeat):
    # tf.Example {features {feature {key: "f<i>" value {int64_list {value:
    # i}}}}}, built in one join (grpc_client.example concatenates).
    ex = ld(1, b"".join(
        ld(1, ld(1, "f%d" % i) + ld(2, ld(3, ld(1, varint(i)))))
        for i in range(nfeat)))
    req = ld(1, model_spec(model)) + ld(2, ld(1, "examples") + ld(2, tensor_strings([ex])))
    c = Client(port)
    t0 = time.monotonic()
    code, details, _ = c.call(PS + "Predict", req)
    print(code, "%.3f" % (time.monotonic() - t0), details[:80].replace("\n", " "))


def classify_calls(port, model, n, tries, delay):
    """gRPC Classify of n empty examples, sent tries times delay s apart
    (built once); prints each status code."""
    ex_list = ld(1, b"".join(ld(1, b"") for _ in range(n)))
    req = ld(1, model_spec(model, signature="classify")) + ld(2, ex_list)
    c = Client(port)
    for _ in range(tries):
        code, details, _ = c.call(PS + "Classify", req)
        print(code, details[:300].replace("\n", " "), flush=True)
        time.sleep(delay)


def classify_body(n):
    sys.stdout.write('{"examples": [' + ",".join(['{"a":1}'] * n) + "]}")


# --- raw HTTP/2 --------------------------------------------------------------


def frame(ftype, flags, stream, payload):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) +
            struct.pack(">I", stream) + payload)


def literal(name, value):
    """HPACK literal header field without indexing, new name, no Huffman."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def zerowindow(port, model, nstreams, batch, seconds):
    s = socket.create_connection(("127.0.0.1", port))
    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    out += frame(4, 0, 0, struct.pack(">HI", 4, 0))  # INITIAL_WINDOW_SIZE=0
    ex_list = ld(1, b"".join(ld(1, b"") for _ in range(batch)))
    msg = ld(1, model_spec(model, signature="classify")) + ld(2, ex_list)
    body = b"\x00" + struct.pack(">I", len(msg)) + msg
    hdrs = (literal(":method", "POST") + literal(":scheme", "http") +
            literal(":path", PS + "Classify") +
            literal(":authority", "localhost") +
            literal("content-type", "application/grpc") +
            literal("te", "trailers"))
    sent = 0
    s.sendall(out)
    sent += len(out)
    for i in range(nstreams):
        sid = 2 * i + 1
        buf = frame(1, 4, sid, hdrs)  # HEADERS, END_HEADERS
        for off in range(0, len(body), 16384):
            last = off + 16384 >= len(body)
            buf += frame(0, 1 if last else 0, sid, body[off:off + 16384])
        try:
            s.sendall(buf)
        except OSError:
            break
        sent += len(buf)
    # Read (never a WINDOW_UPDATE) until every call has either begun its
    # answer (HEADERS; its DATA waits for a window that never opens) or
    # been reset (RST_STREAM), or seconds have passed.
    s.settimeout(0.5)
    data = b""
    headers = calm = 0
    i = 0
    deadline = time.monotonic() + seconds
    while headers + calm < nstreams and time.monotonic() < deadline:
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        data += d
        while i + 9 <= len(data):
            n = int.from_bytes(data[i:i + 3], "big")
            if i + 9 + n > len(data):
                break
            ftype, sid = data[i + 3], int.from_bytes(data[i + 5:i + 9], "big")
            if ftype == 1 and sid:
                headers += 1
            elif ftype == 3 and n == 4 and data[i + 9:i + 13] == b"\0\0\0\x0b":
                calm += 1  # ENHANCE_YOUR_CALM
            i += 9 + n
    s.close()
    print(sent, headers, calm)


def main():
    cmd = sys.argv[1]
    if cmd == "bigexample":
        bigexample(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif cmd == "classify_calls":
        classify_calls(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                       int(sys.argv[5]), float(sys.argv[6]))
    elif cmd == "classify_body":
        classify_body(int(sys.argv[2]))
    elif cmd == "zerowindow":
        zerowindow(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                   int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
