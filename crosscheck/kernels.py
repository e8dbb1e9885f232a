"""Limiting kernels of a 2-layer erf network and the paper's kernel NC1, in float64 numpy.

Written from the equations (DESIGN.md §4, Kothapalli & Tirer, TMLR 2025), not from the
TypeScript code in numerics/: it is an independent second computation of the same numbers.

    K0   = sigma_b^2 + (sigma_w^2 / d0) X X^T
    u_i  = 1 + 2 K0_ii
    Q    = (2/pi) arcsin(2 K0_ij / sqrt(u_i u_j))                 (erf NNGP)
    Qdot = (4/pi) (u_i u_j - 4 K0_ij^2)^(-1/2)                    (erf derivative kernel)
    NTK  = sigma_b^2 + sigma_w^2 Q + K0 * (sigma_w^2 Qdot)        (elementwise product)

The original code of the paper (`shallow_nc1`) forms the derivative kernel with the scalar
S = sum_k u_k^2 where the outer product u_i u_j belongs: Qdot_ij = (4/pi) (S - 4 K0_ij^2)^(-1/2).

Kernel NC1, rows in class-block order, C classes of sizes n_c, N rows:
    T  = tr K / N;  B = (1/C) sum_c 1^T K_cc 1 / n_c^2;  G = 1^T K 1 / N^2
    Tr Sigma_W = T - B;  Tr Sigma_B = B - G;  NC1 = Tr Sigma_W / Tr Sigma_B
"""
import math

import numpy as np


def preactivation_kernel(X, sigma_w=1.0, sigma_b=0.0):
    """K0 = sigma_b^2 + (sigma_w^2 / d0) X X^T, symmetric N x N."""
    X = np.asarray(X, dtype=np.float64)
    d0 = X.shape[1]
    K0 = (sigma_w * sigma_w / d0) * (X @ X.T) + sigma_b * sigma_b
    # X @ X.T is symmetric in exact arithmetic; make it so in floating point as well.
    return np.tril(K0) + np.tril(K0, -1).T


def erf_nngp(K0):
    u = 1.0 + 2.0 * np.diag(K0)
    arg = 2.0 * K0 / np.sqrt(np.outer(u, u))
    # |arg| <= 1 mathematically (Cauchy-Schwarz); rounding may step past it on the diagonal.
    return (2.0 / math.pi) * np.arcsin(np.clip(arg, -1.0, 1.0))


def erf_derivative(K0, compat=False):
    """Qdot; with compat, the original code's scalar sum_k u_k^2 in place of u_i u_j."""
    u = 1.0 + 2.0 * np.diag(K0)
    if compat:
        scalar = math.fsum((u * u).tolist())
        return (4.0 / math.pi) / np.sqrt(scalar - 4.0 * K0 * K0), scalar
    return (4.0 / math.pi) / np.sqrt(np.outer(u, u) - 4.0 * K0 * K0), None


def erf_kernel(X, model, sigma_w=1.0, sigma_b=0.0, compat=False):
    """(K, compat_scalar) for model in k0, nngp, derivative, ntk."""
    K0 = preactivation_kernel(X, sigma_w, sigma_b)
    if model == 'k0':
        return K0, None
    if model == 'nngp':
        return erf_nngp(K0), None
    qdot, scalar = erf_derivative(K0, compat)
    if model == 'derivative':
        return qdot, scalar
    if model == 'ntk':
        sw2, sb2 = sigma_w * sigma_w, sigma_b * sigma_b
        return sb2 + sw2 * erf_nngp(K0) + K0 * (sw2 * qdot), scalar
    raise ValueError(f'unknown model {model!r} (expected k0, nngp, derivative, ntk)')


def _exact_sum(a):
    # math.fsum rounds the exact sum once: no summation-order error to argue about.
    return math.fsum(np.asarray(a, dtype=np.float64).ravel().tolist())


def kernel_nc1(K, class_sizes):
    """The paper's kernel NC1 of K (rows in class-block order) and the sums it is made of."""
    K = np.asarray(K, dtype=np.float64)
    N = K.shape[0]
    if sum(class_sizes) != N:
        raise ValueError(f'class sizes sum to {sum(class_sizes)}, but K is {N} x {N}')
    C = len(class_sizes)
    trace = _exact_sum(np.diag(K))
    total = _exact_sum(K)
    blocks = []
    start = 0
    for n in class_sizes:
        blocks.append(_exact_sum(K[start:start + n, start:start + n]))
        start += n
    T = trace / N
    B = math.fsum(b / (n * n) for b, n in zip(blocks, class_sizes)) / C
    G = total / (N * N)
    tr_w = T - B
    tr_b = B - G
    return {
        'Tr_Sigma_W': tr_w,
        'Tr_Sigma_B': tr_b,
        'nc1': tr_w / tr_b,
        'trace': trace,
        'sum': total,
        'class_block_sums': blocks,
    }
