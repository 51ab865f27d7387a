#!/usr/bin/python3
"""cv_select.py: cross-validated loss and AUC of trainer configs on the
train split only (folds from bench/cv_folds.py), to choose a config
without looking at the eval split.

    bench/cv_select.py CFX TRANSFORM_GRAPH FOLDS_DIR CONFIG.json...

Trains each config on every FOLDS_DIR/fold<k>/Split-train with `cfx train`
and reads the metrics of its held-out fold (the bundle manifest's
training.eval, computed by the trainer on Split-eval, which here is the
held-out fold of train). Prints mean log loss, mean AUC, mean seconds
and, for gbt, the mean number of trees per config, best (lowest loss)
first.
"""
import glob, json, os, subprocess, sys, tempfile, time

cfx, graph, folds = sys.argv[1], sys.argv[2], sys.argv[3]
configs = sys.argv[4:]
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for c in configs:
        loss = auc = secs = trees = 0.0
        fs = sorted(glob.glob(os.path.join(folds, 'fold*')))
        for i, f in enumerate(fs):
            out = os.path.join(tmp, '%s-%d' % (os.path.basename(c), i))
            t0 = time.time()
            subprocess.run([cfx, 'train', '--quiet', '--examples', f, '--transform-graph', graph,
                            '--config', c, '--output', out], check=True, stdout=subprocess.DEVNULL)
            secs += time.time() - t0
            man = json.load(open(os.path.join(out, 'model', 'manifest.json')))
            ev = man['training']['eval']
            trees += man.get('trees', {}).get('num_trees', 0) / len(fs)
            loss += ev['loss'] / len(fs)
            auc += ev['auc'] / len(fs)
        rows.append((loss, auc, secs / len(fs), trees, c))
        print('%-32s loss %.5f  auc %.5f  %.1f s/fold' % (os.path.basename(c), loss, auc, secs / len(fs)), file=sys.stderr)
print('config                           cv_loss  cv_auc   s/fold  trees')
for loss, auc, s, t, c in sorted(rows):
    print('%-32s %.5f  %.5f  %5.1f  %5.0f' % (os.path.basename(c), loss, auc, s, t))
