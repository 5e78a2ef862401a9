"""The engine: Tensor, primitives, the backward pass, forward mode, and transforms."""
