#!/usr/bin/python3
"""quality_compare.py: cfx's taxi models against scikit-learn on the same
train/eval split, reporting AUC, log loss, accuracy and ECE per model
(bench/quality_compare.sh prepares its inputs; Debian's python3-sklearn).

    quality_compare.py EXAMPLES TRANSFORMED NAME=PREDICTIONS.csv...

EXAMPLES is `cfx examplegen`'s output (raw Split-train/, Split-eval/: the
hash-based split of docs/data.md), TRANSFORMED the `cfx transform` output's
transformed_examples/ of the same rows, in the same order. The label of
every model, cfx's and scikit-learn's, is the transform's (tips_xf, as cfx
trains and evaluates on). Each NAME=FILE is a `cfx predict --transformed`
CSV over TRANSFORMED/Split-eval (first column the probability).

scikit-learn, on the raw features (14 numeric, NaN where missing; company
and payment_type as categories), fitted on train only:
  - HistGradientBoostingClassifier, its hyper-parameters chosen by 5-fold
    cross-validated log loss on train over a grid around learning rate
    0.05, 150 iterations, 7 leaves, 40 rows per leaf, L2 1.0;
  - LogisticRegression on standardised numerics (NaN as the train median)
    and one-hot categories, C chosen the same way.
The eval split is used only to report.

ECE: 10 equal-width probability bins, sum over bins of (rows in bin / rows)
* |mean probability - positive rate|.
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taxi_rows import CAT, IS_CAT, NUM, aligned, categories, ece, load, matrix  # noqa: E402

EX, XF = sys.argv[1], sys.argv[2]
PRED = [a.split('=', 1) for a in sys.argv[3:]]

raw_tr, raw_ev = load(EX, 'train'), load(EX, 'eval')
xf_tr, xf_ev = load(XF, 'train'), load(XF, 'eval')
y_tr = np.array([r['tips_xf'] for r in xf_tr])
y_ev = np.array([r['tips_xf'] for r in xf_ev])
aligned(raw_tr, xf_tr)
aligned(raw_ev, xf_ev)
cats = categories(raw_tr)
X_tr, X_ev = matrix(raw_tr, cats), matrix(raw_ev, cats)

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

cv = KFold(5, shuffle=True, random_state=0)
hgb = GridSearchCV(
    HistGradientBoostingClassifier(categorical_features=IS_CAT, random_state=0),
    {'learning_rate': [0.05, 0.1], 'max_iter': [150, 250],
     'max_leaf_nodes': [7, 15], 'min_samples_leaf': [20, 40],
     'l2_regularization': [1.0]},
    scoring='neg_log_loss', cv=cv, n_jobs=1).fit(X_tr, y_tr)
print('HGB chosen by 5-fold CV on train:', hgb.best_params_,
      'cv log loss %.4f' % -hgb.best_score_)

onehot = ['trip_start_hour', 'trip_start_day', 'trip_start_month',
          'pickup_community_area', 'dropoff_community_area']
num_i = [i for i, c in enumerate(NUM) if c not in onehot]
cat_i = [NUM.index(c) for c in onehot] + [len(NUM) + i for i in range(len(CAT))]
pre = ColumnTransformer([
    ('num', make_pipeline(SimpleImputer(strategy='median'), StandardScaler()), num_i),
    ('cat', make_pipeline(SimpleImputer(strategy='constant', fill_value=-1),
                          OneHotEncoder(handle_unknown='ignore')), cat_i)])
lr = GridSearchCV(make_pipeline(pre, LogisticRegression(max_iter=2000)),
                  {'logisticregression__C': [0.1, 1.0, 10.0]},
                  scoring='neg_log_loss', cv=cv, n_jobs=1).fit(X_tr, y_tr)
print('LogisticRegression chosen by 5-fold CV on train:', lr.best_params_,
      'cv log loss %.4f' % -lr.best_score_)


models = [(name, np.loadtxt(path, delimiter=',', skiprows=1, usecols=0, ndmin=1))
          for name, path in PRED]
models += [('sklearn HGB (CV-tuned)', hgb.predict_proba(X_ev)[:, 1]),
           ('sklearn LogisticRegression', lr.predict_proba(X_ev)[:, 1])]
print('eval split: %d rows, positive rate %.4f (train %d rows)' % (len(y_ev), y_ev.mean(), len(y_tr)))
print('%-30s %8s %8s %8s %8s' % ('model', 'AUC', 'logloss', 'accuracy', 'ECE'))
for name, p in models:
    assert len(p) == len(y_ev), '%s: %d predictions for %d rows' % (name, len(p), len(y_ev))
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    print('%-30s %8.4f %8.4f %8.4f %8.4f' % (name, roc_auc_score(y_ev, p), log_loss(y_ev, pc),
                                             accuracy_score(y_ev, p > 0.5), ece(p, y_ev)))
