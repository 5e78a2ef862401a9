"""Seeing the chain rule: gradient checks, traces, graph pictures, kink reports, plots."""
