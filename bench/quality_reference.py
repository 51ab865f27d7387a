#!/usr/bin/python3
"""Quality reference for the taxi model: scikit-learn's histogram gradient
boosting on the RAW features of the same train/eval split cfx examplegen
writes (TFX's split rule), label tips > 0.2 * fare. An independent ceiling
check for the trainer's eval AUC; not part of the tests (needs Debian's
python3-sklearn, which install-deps.sh does not install).

    apt-get install -y python3-sklearn
    build/cfx examplegen --input examples/taxi/data.csv --output /tmp/ex
    /usr/bin/python3 bench/quality_reference.py /tmp/ex
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taxi_rows import NUM, categories, load, matrix  # noqa: E402

EX = sys.argv[1]
tr, ev = load(EX, 'train'), load(EX, 'eval')
print(len(tr), len(ev))
cats = categories(tr)
def X(rows):
    return matrix(rows, cats)
def y(rows):
    return np.array([1 if (r['fare'] is not None and r['tips'] is not None and r['tips'] > 0.2 * r['fare']) else 0 for r in rows])
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
Xt, yt, Xe, ye = X(tr), y(tr), X(ev), y(ev)
allf = list(range(len(NUM) + 2))
nots = [i for i in allf if i != NUM.index('trip_start_timestamp')]
for feats, name in [(allf, 'all raw'), (nots, 'no timestamp')]:
    for lr, it in [(0.05, 300), (0.1, 100)]:
        catmask = [f >= len(NUM) for f in feats]
        m = HistGradientBoostingClassifier(max_iter=it, learning_rate=lr, categorical_features=catmask, random_state=0)
        m.fit(Xt[:, feats], yt)
        print(name, lr, it, 'eval AUC %.4f' % roc_auc_score(ye, m.predict_proba(Xe[:, feats])[:, 1]))
print('rates', yt.mean(), ye.mean())
