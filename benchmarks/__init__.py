"""Side-by-side benchmarks (not tests); run each from the root as ``python -m benchmarks.<name>``."""
