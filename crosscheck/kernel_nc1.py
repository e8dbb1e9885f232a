#!/usr/bin/env python3
"""Kernel NC1 of one `gaussian` (or `dataset-file`) data node, computed with numpy.

An independent cross-check of the TypeScript `kernel` stage (stages/kernel.ts): it reads the same
data node and writes a JSON shaped like that stage's stats.json, so `aggregate`, `plot`, `report`
and `diff` read it as they read the stage's.

Input: a data node's folder, as pipeline stores it (engine/store/outputs.ts, stages/lib/dataset.ts):
  data.json  {"N": N, "d0": d0, "class_sizes": [n_0, ...], "targets": [...]}
  X.f64      N x d0 float64, raw little-endian IEEE 754, row-major (row i = sample i), no header;
             rows in class-block order (class 0's n_0 rows first, ...)
  y.f64      N float64, same encoding (not needed for kernel NC1)

Usage:
  kernel_nc1.py --model ntk --compat none --data <data folder> --out <file.json>
Without flags, the values come from the command stage's environment: the params file
$PIPELINE_PARAMS (model, compat, activation, sigma_w, sigma_b), the input folder
$PIPELINE_INPUT_DATA and the output folder $PIPELINE_OUT (file stats.json, the kernel stage's name for it).
"""
import argparse
import json
import os
import platform
import sys

import numpy as np

# The helper module sits beside this script (a project-local import the command stage tracks).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernels  # noqa: E402


def read_data(folder):
    """(X, info) of a data node's folder; every size is checked against data.json."""
    with open(os.path.join(folder, 'data.json'), encoding='utf-8') as f:
        info = json.load(f)
    N, d0, sizes = info.get('N'), info.get('d0'), info.get('class_sizes')
    if not (isinstance(N, int) and isinstance(d0, int) and isinstance(sizes, list) and sum(sizes) == N):
        raise SystemExit(f'{folder}/data.json: expected N, d0 and class_sizes summing to N, got {info!r}')
    path = os.path.join(folder, 'X.f64')
    size = os.path.getsize(path)
    if size != 8 * N * d0:
        raise SystemExit(f'{path}: {size} bytes, expected 8 * N * d0 = {8 * N * d0} (N = {N}, d0 = {d0})')
    X = np.fromfile(path, dtype='<f8').reshape(N, d0)
    return X, info


def main(argv=None):
    params = {}
    if os.environ.get('PIPELINE_PARAMS'):
        with open(os.environ['PIPELINE_PARAMS'], encoding='utf-8') as f:
            params = json.load(f)
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', choices=['k0', 'nngp', 'derivative', 'ntk'], default=params.get('model'))
    ap.add_argument('--compat', choices=['none', 'shallow_nc1'], default=params.get('compat', 'none'))
    ap.add_argument('--activation', choices=['erf'], default=params.get('activation', 'erf'))
    ap.add_argument('--sigma-w', type=float, default=float(params.get('sigma_w', 1.0)))
    ap.add_argument('--sigma-b', type=float, default=float(params.get('sigma_b', 0.0)))
    ap.add_argument('--data', default=os.environ.get('PIPELINE_INPUT_DATA'))
    out_default = os.path.join(os.environ['PIPELINE_OUT'], 'stats.json') if os.environ.get('PIPELINE_OUT') else None
    ap.add_argument('--out', default=out_default)
    a = ap.parse_args(argv)
    for name in ('model', 'data', 'out'):
        if getattr(a, name) is None:
            ap.error(f'--{name} is required (or run it as a command stage, which sets it)')
    X, info = read_data(a.data)
    K, scalar = kernels.erf_kernel(X, a.model, a.sigma_w, a.sigma_b, compat=a.compat == 'shallow_nc1')
    stats = {
        'model': a.model,
        'activation': a.activation,
        'compat': a.compat,
        'N': info['N'],
        'd0': info['d0'],
        'class_sizes': info['class_sizes'],
        **kernels.kernel_nc1(K, info['class_sizes']),
    }
    if a.compat == 'shallow_nc1' and scalar is not None:
        stats['compat_scalar'] = scalar
    stats['implementation'] = f'numpy {np.__version__}, {platform.python_implementation()} {platform.python_version()}'
    tmp = a.out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(stats, f, indent=1)
    os.replace(tmp, a.out)


if __name__ == '__main__':
    main()
