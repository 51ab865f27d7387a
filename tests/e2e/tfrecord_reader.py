"""tfrecord_reader.py: an independent reader of what cfx writes, for the
end-to-end tests and the quality scripts of bench/ (standard library only,
/usr/bin/python3).

Decodes the protobuf wire format by hand, the TFRecord framing (gzip or
plain) and tf.Example (field numbers of tensorflow/core/example), so the
tests check cfx's output against code that shares nothing with it.

From a test's heredoc: sys.path.insert(0, os.environ["E2E_DIR"]) then
`from tfrecord_reader import ...`; E2E_DIR is the tests/e2e directory. A
script of bench/ inserts ../tests/e2e relative to itself.
"""
import gzip
import struct


def varint(b, i):
    """Decodes the varint at b[i:]; returns (value, index after it)."""
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    """Yields (field number, wire type, value) for each field of a message:
    an int for varints, bytes for the fixed and length-delimited types."""
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        if i > len(b):
            raise ValueError("field %d runs past the end of the message" % f)
        yield f, wt, v


def records(path):
    """Yields the payload of each record of a TFRecord file (gzip or not):
    u64 length, u32 masked CRC of the length, data, u32 masked CRC of data.
    The CRCs are not checked (cfx's reader checks them; see tfrecord_test)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    i = 0
    while i < len(data):
        if len(data) - i < 12:
            raise ValueError("%s: truncated record header at %d" % (path, i))
        (n,) = struct.unpack_from("<Q", data, i)
        i += 12
        if len(data) - i < n + 4:
            raise ValueError("%s: truncated record at %d" % (path, i - 12))
        yield data[i:i + n]
        i += n + 4


def _int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def example(b):
    """tf.Example bytes -> {feature name: (kind, values)}; kind is the
    Feature oneof field (1 bytes_list, 2 float_list, 3 int64_list, None for
    an empty Feature); bytes stay bytes, floats are float32 values, int64s
    are signed; packed and unpacked encodings are both read."""
    out = {}
    for _, _, feats in fields(b):  # Example.features = 1
        for _, _, entry in fields(feats):  # Features.feature map entries
            key, feat = None, b""
            for f, _, x in fields(entry):
                if f == 1:
                    key = x.decode()
                else:
                    feat = x
            kind, vals = None, []
            for kind, _, lst in fields(feat):
                for _, wt, x in fields(lst):
                    if kind == 1:
                        vals.append(x)
                    elif kind == 2:
                        if wt == 2:
                            vals += struct.unpack("<%df" % (len(x) // 4), x)
                        else:
                            vals += struct.unpack("<f", x)
                    elif wt == 2:
                        j = 0
                        while j < len(x):
                            v, j = varint(x, j)
                            vals.append(_int64(v))
                    else:
                        vals.append(_int64(x))
            out[key] = (kind, vals)
    return out


def example_values(b):
    """Like example() but {name: values}, with bytes_list values decoded
    as UTF-8 strings."""
    return {k: [x.decode() for x in v] if kind == 1 else list(v)
            for k, (kind, v) in example(b).items()}


def example_first(b):
    """Like example_values() but {name: first value}, None for a feature
    without values: for data with one value per feature."""
    return {k: v[0] if v else None for k, v in example_values(b).items()}
