"""Shared library of the suite: simulation, models, perturbation, attribution, scoring."""
