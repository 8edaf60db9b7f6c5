"""Numerical gradients that prove each layer's backward right."""
