"""chainrule's benchmark suite against hand-written NumPy and peer libraries.

``python -m bench --help``; the method and the latest results are in docs/benchmarks.md.
"""
