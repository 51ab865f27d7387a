#!/usr/bin/python3
"""quality_paired_cv.py: cfx's taxi model against scikit-learn's tuned
HistGradientBoosting fold by fold, on the train split only, to tell a real
difference from the noise of one eval split (bench/quality_paired_cv.sh
prepares the inputs; Debian's python3-sklearn).

    quality_paired_cv.py CFX CONFIG EXAMPLES XF OUT PARTITIONS

EXAMPLES is `cfx examplegen`'s output, XF the `cfx transform` output of the
same rows. For each partition (`bench/cv_folds.py` with no seed, then seeds
1, 2, ...) the train split is cut into 5 folds, the raw and the transformed
rows alike (row i lands in the same fold in both). For every fold, trained
on the other four and measured on it:
  cfx       `cfx train --config CONFIG` on the transformed rows, then
            `cfx predict --transformed` on the held-out fold;
  HGB       HistGradientBoostingClassifier with the issue's CV-tuned recipe
            (learning rate 0.05, 150 iterations, 7 leaves, 40 rows per
            leaf, L2 1.0; scikit-learn's other defaults) on the raw
            features of the same rows (bench/taxi_rows.py).
Both use the transform's label. Prints each fold's AUC and log loss for
both, the paired differences (cfx - HGB), their mean with its standard
error, and the share of folds where cfx has AUC >= and log loss <= HGB's.
The eval split is never read.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taxi_rows import IS_CAT, aligned, categories, load, matrix  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import log_loss, roc_auc_score  # noqa: E402

CFX, CONFIG, EX, XF, OUT = sys.argv[1:6]
PARTS = int(sys.argv[6])
HERE = os.path.dirname(os.path.abspath(__file__))
K = 5


def run(*args):
    r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit('%s: exit %d\n%s' % (' '.join(args), r.returncode, r.stderr.decode(errors='replace')))


rows = []
print('%-9s %4s  %8s %8s  %8s %8s' % ('partition', 'fold', 'cfx AUC', 'HGB AUC',
                                      'cfx LL', 'HGB LL'))
for part in range(PARTS):
    seed = [] if part == 0 else [str(part)]
    raw_dir, xf_dir = os.path.join(OUT, 'p%d-raw' % part), os.path.join(OUT, 'p%d-xf' % part)
    run('/usr/bin/python3', os.path.join(HERE, 'cv_folds.py'),
        os.path.join(EX, 'Split-train'), raw_dir, str(K), *seed)
    run('/usr/bin/python3', os.path.join(HERE, 'cv_folds.py'),
        os.path.join(XF, 'transformed_examples', 'Split-train'), xf_dir, str(K), *seed)
    for k in range(K):
        fr, fx = os.path.join(raw_dir, 'fold%d' % k), os.path.join(xf_dir, 'fold%d' % k)
        raw_tr, raw_te = load(fr, 'train'), load(fr, 'eval')
        xf_tr, xf_te = load(fx, 'train'), load(fx, 'eval')
        aligned(raw_tr, xf_tr)
        aligned(raw_te, xf_te)
        y_tr = np.array([r['tips_xf'] for r in xf_tr])
        y_te = np.array([r['tips_xf'] for r in xf_te])
        run_dir = os.path.join(OUT, 'p%d-run%d' % (part, k))
        pred = run_dir + '.csv'
        run(CFX, 'train', '--quiet', '--examples', fx, '--transform-graph',
            os.path.join(XF, 'transform_graph'), '--config', CONFIG, '--output', run_dir)
        run(CFX, 'predict', '--bundle', os.path.join(run_dir, 'model'), '--input',
            os.path.join(fx, 'Split-eval'), '--transformed', '--output', pred)
        p_cfx = np.loadtxt(pred, delimiter=',', skiprows=1, usecols=0, ndmin=1)
        cats = categories(raw_tr)
        hgb = HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=150, max_leaf_nodes=7, min_samples_leaf=40,
            l2_regularization=1.0, categorical_features=IS_CAT, random_state=part * K + k)
        p_hgb = hgb.fit(matrix(raw_tr, cats), y_tr).predict_proba(matrix(raw_te, cats))[:, 1]
        assert len(p_cfx) == len(y_te), 'fold %d: %d predictions for %d rows' % (k, len(p_cfx), len(y_te))
        r = (roc_auc_score(y_te, p_cfx), roc_auc_score(y_te, p_hgb),
             log_loss(y_te, np.clip(p_cfx, 1e-7, 1 - 1e-7)), log_loss(y_te, p_hgb))
        rows.append(r)
        print('%-9d %4d  %8.4f %8.4f  %8.4f %8.4f' % ((part, k) + r), flush=True)

a = np.array(rows)
d_auc, d_ll = a[:, 0] - a[:, 1], a[:, 2] - a[:, 3]
n = len(a)
print('folds: %d; mean over folds: cfx AUC %.4f, HGB %.4f; cfx log loss %.4f, HGB %.4f'
      % (n, a[:, 0].mean(), a[:, 1].mean(), a[:, 2].mean(), a[:, 3].mean()))
print('cfx - HGB: AUC %+.4f (standard error %.4f, fold sd %.4f), log loss %+.4f '
      '(standard error %.4f, fold sd %.4f)'
      % (d_auc.mean(), d_auc.std(ddof=1) / np.sqrt(n), d_auc.std(ddof=1),
         d_ll.mean(), d_ll.std(ddof=1) / np.sqrt(n), d_ll.std(ddof=1)))
print('folds where cfx has AUC >= and log loss <= HGB: %d of %d; AUC >=: %d; log loss <=: %d'
      % (((d_auc >= 0) & (d_ll <= 0)).sum(), n, (d_auc >= 0).sum(), (d_ll <= 0).sum()))
