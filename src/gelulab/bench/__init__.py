"""Throughput benchmarks: CPU kernels against the framework's ops, GPU kernels against a device copy (gpu)."""
