"""Cases for the linalg family."""
from ._api import case, floats, positive, shapes  # noqa: F401

# implemented before the coverage table existed; still to get cases here (may only shrink)
BACKLOG = set("""
    np.dot np.einsum np.inner np.kron np.matmul np.outer np.tensordot np.vdot
    np.linalg.cholesky np.linalg.det np.linalg.eigh np.linalg.eigvalsh np.linalg.inv
    np.linalg.matmul np.linalg.multi_dot np.linalg.norm np.linalg.outer np.linalg.pinv
    np.linalg.qr np.linalg.slogdet np.linalg.solve np.linalg.svd np.linalg.svdvals
    np.linalg.tensordot
""".split())
