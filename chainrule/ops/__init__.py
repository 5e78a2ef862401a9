"""Gradient rules, one module per op family (elementwise, reductions, shape, indexing, linalg, nn)."""
