#!/usr/bin/python3
"""cv_folds.py: K-fold cross-validation folders from a Split-train/ folder
of TFRecord files, for choosing a trainer config on train rows only.

    bench/cv_folds.py SPLIT_TRAIN_DIR OUT_DIR [K [SEED]]      (K = 5)

Writes OUT_DIR/fold<k>/Split-train/ (the rows of the other folds) and
OUT_DIR/fold<k>/Split-eval/ (fold k) for k = 0..K-1. Row i (in file
name order, then record order) is in fold i mod K, so two transforms of the
same split (the same rows in the same order) get the same folds; with
SEED, row i is in fold (first 8 bytes of SHA-256 of "SEED:i") mod K
instead, another partition for repeated cross-validation. Records
are copied byte for byte, CRCs included, so the files read exactly as the
originals do; gzip in, gzip out.
"""
import glob, gzip, hashlib, os, struct, sys

src, out = sys.argv[1], sys.argv[2]
k = int(sys.argv[3]) if len(sys.argv) > 3 else 5
seed = sys.argv[4] if len(sys.argv) > 4 else None

def framed(path):
    data = gzip.open(path).read() if path.endswith('.gz') else open(path, 'rb').read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack('<Q', data[i:i + 8])
        yield data[i:i + 16 + n], data[i + 12:i + 12 + n]
        i += 16 + n

folds = [[] for _ in range(k)]
i = 0
for p in sorted(glob.glob(os.path.join(src, '*'))):
    for rec, _ in framed(p):
        f = i % k if seed is None else int.from_bytes(
            hashlib.sha256(('%s:%d' % (seed, i)).encode()).digest()[:8], 'little') % k
        folds[f].append(rec)
        i += 1
for f in range(k):
    for split, rows in (('Split-eval', folds[f]),
                        ('Split-train', [r for g in range(k) if g != f for r in folds[g]])):
        d = os.path.join(out, 'fold%d' % f, split)
        os.makedirs(d, exist_ok=True)
        with gzip.open(os.path.join(d, 'part-00000.gz'), 'wb', compresslevel=1) as w:
            w.write(b''.join(rows))
print(' '.join(str(len(x)) for x in folds))
