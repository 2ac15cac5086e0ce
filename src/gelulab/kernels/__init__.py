"""Fused, accurate kernels behind the PyTorch front: ``cpu`` (NumPy and numba) and ``triton`` (GPU).

Kernels work on NumPy arrays and never import torch; :mod:`gelulab.torch` hands them
zero-copy views of tensors.
"""
