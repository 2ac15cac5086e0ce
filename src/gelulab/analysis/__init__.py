"""Computed properties of the activations, the claims check, and their plots."""
