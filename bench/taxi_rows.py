"""taxi_rows.py: the taxi rows as scikit-learn reads them, shared by the
quality scripts of bench/ (quality_compare.py, quality_paired_cv.py).

load(root, split): the tf.Example rows of root/Split-<split>/* in file name
order, then record order (tests/e2e/tfrecord_reader.py), as dicts.
matrix(rows, cats): the raw features as a float matrix, 14 numeric columns
(NaN where missing), then payment_type and company as their index in cats
(sorted train values, '' for missing; NaN for a value train never saw).
IS_CAT marks the two categorical columns for HistGradientBoosting.
"""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'e2e'))
from tfrecord_reader import example_first, records  # noqa: E402

NUM = ['fare', 'trip_miles', 'trip_seconds', 'trip_start_hour', 'trip_start_day',
       'trip_start_month', 'trip_start_timestamp', 'pickup_latitude', 'pickup_longitude',
       'dropoff_latitude', 'dropoff_longitude', 'pickup_community_area',
       'dropoff_community_area', 'dropoff_census_tract']
CAT = ['payment_type', 'company']
IS_CAT = [False] * len(NUM) + [True] * len(CAT)


def load(root, split):
    rows = []
    for p in sorted(glob.glob(os.path.join(root, 'Split-' + split, '*'))):
        rows += [example_first(r) for r in records(p)]
    return rows


def categories(train_rows):
    return {c: sorted({r[c] or '' for r in train_rows}) for c in CAT}


def matrix(rows, cats):
    m = []
    for r in rows:
        v = [np.nan if r[c] is None else float(r[c]) for c in NUM]
        v += [float(cats[c].index(r[c] or '')) if (r[c] or '') in cats[c] else np.nan
              for c in CAT]
        m.append(v)
    return np.array(m)


def aligned(raw, xf):
    """Asserts that raw and transformed rows are the same rows in the same
    order: fare_xf is a z-score of the (0-filled) fare."""
    assert len(raw) == len(xf), 'split sizes differ'
    a = np.array([r['fare'] or 0.0 for r in raw])
    b = np.array([r['fare_xf'] for r in xf])
    assert np.corrcoef(a, b)[0, 1] > 0.9999, 'raw and transformed rows are not aligned'


def ece(p, y, bins=10):
    """Expected calibration error: equal-width probability bins, sum over
    bins of (rows in bin / rows) * |mean probability - positive rate|."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            e += m.mean() * abs(p[m].mean() - y[m].mean())
    return e
