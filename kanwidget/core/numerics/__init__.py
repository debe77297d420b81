"""Numerics: B-spline bases, optimisers and the symbolic function library; tensors in, tensors out, no model."""
