"""Computed properties of the activations, the explainer's text and tables, and their plots."""
