#!/usr/bin/env python3
"""gbt_baseline.py: a gradient-boosted-trees baseline on the *same* transformed
features the cfx trainer reads, as an independent check of how much AUC those
features hold (pure Python, no third-party packages; a few minutes).

    bench/gbt_baseline.py XF/transformed_examples [ROUNDS]

Reads Split-train/ and Split-eval/ (gzip TFRecord of tf.Example, decoded
by tests/e2e/tfrecord_reader.py), label "tips_xf"; every float feature is
binned at 47 train quantiles, every int64 feature split on its values;
depth-3 trees, learning rate 0.1, L2 1.0 on leaf weights, logistic loss.
Prints train/eval AUC every 25 rounds.
"""
import bisect, glob, math, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from tfrecord_reader import example_first, records  # noqa: E402

def numbers(d):
    """The numeric features of each example in the TFRecord files of d."""
    for p in sorted(glob.glob(os.path.join(d, "*"))):
        for r in records(p):
            yield {k: v for k, v in example_first(r).items() if isinstance(v, (int, float))}

def load(d):
    rows = list(numbers(d))
    names = sorted(k for k in rows[0] if k != "tips_xf")
    return names, [[r[k] for k in names] for r in rows], [int(r["tips_xf"]) for r in rows]

def auc(s, y):
    order = sorted(range(len(s)), key=lambda i: s[i])
    ranks = [0.0] * len(s); i = 0
    while i < len(order):
        j = i
        while j < len(order) and s[order[j]] == s[order[i]]: j += 1
        for k in range(i, j): ranks[order[k]] = (i + j + 1) / 2
        i = j
    pos = sum(y); r = sum(ranks[i] for i in range(len(y)) if y[i])
    return (r - pos * (pos + 1) / 2) / (pos * (len(y) - pos))

def main():
    root = sys.argv[1]; rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    names, Xtr, Ytr = load(os.path.join(root, "Split-train"))
    _, Xev, Yev = load(os.path.join(root, "Split-eval"))
    F = len(names); edges = []
    for f in range(F):
        vals = sorted(set(x[f] for x in Xtr))
        if len(vals) <= 48:
            edges.append([(vals[i] + vals[i + 1]) / 2 for i in range(len(vals) - 1)])
        else:
            col = sorted(x[f] for x in Xtr)
            edges.append(sorted(set(col[len(col) * k // 48] for k in range(1, 48))))
    Btr = [[bisect.bisect_right(edges[f], x[f]) for f in range(F)] for x in Xtr]
    Bev = [[bisect.bisect_right(edges[f], x[f]) for f in range(F)] for x in Xev]
    nb = [len(e) + 1 for e in edges]
    n = len(Ytr); lr, depth, lam = 0.1, 3, 1.0
    base = math.log(sum(Ytr) / (n - sum(Ytr)))
    Ftr = [base] * n; Fev = [base] * len(Yev)
    print("%d train / %d eval rows, %d features" % (n, len(Yev), F), flush=True)
    for it in range(rounds):
        p = [1 / (1 + math.exp(-v)) for v in Ftr]
        g = [p[i] - Ytr[i] for i in range(n)]; h = [p[i] * (1 - p[i]) for i in range(n)]
        nodes = [list(range(n))]; tree = []
        for _ in range(depth):
            nxt = []; level = []
            for idx in nodes:
                G = sum(g[i] for i in idx); H = sum(h[i] for i in idx); best = (0, None, None)
                for f in range(F):
                    hg = [0.0] * nb[f]; hh = [0.0] * nb[f]
                    for i in idx:
                        b = Btr[i][f]; hg[b] += g[i]; hh[b] += h[i]
                    gl = hl = 0.0
                    for b in range(nb[f] - 1):
                        gl += hg[b]; hl += hh[b]; gr = G - gl; hr = H - hl
                        if hl < 1 or hr < 1: continue
                        gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - G * G / (H + lam)
                        if gain > best[0]: best = (gain, f, b)
                level.append(best[1:])
                if best[1] is None: nxt += [idx, []]
                else:
                    f, b = best[1], best[2]
                    nxt += [[i for i in idx if Btr[i][f] <= b], [i for i in idx if Btr[i][f] > b]]
            tree.append(level); nodes = nxt
        leaves = [(-sum(g[i] for i in idx) / (sum(h[i] for i in idx) + lam)) if idx else 0.0
                  for idx in nodes]
        def leaf(b):
            node = 0
            for d in range(depth):
                f, bb = tree[d][node]
                node = 2 * node + (0 if f is None or b[f] <= bb else 1)
            return leaves[node]
        for i in range(n): Ftr[i] += lr * leaf(Btr[i])
        for i in range(len(Yev)): Fev[i] += lr * leaf(Bev[i])
        if (it + 1) % 25 == 0:
            print("round %d: train AUC %.4f, eval AUC %.4f" % (it + 1, auc(Ftr, Ytr), auc(Fev, Yev)),
                  flush=True)

main()
