"""Figures: learning curves, distance-response curves, attribution logos, summary plots.

Every function writes one PNG atomically and returns its path. matplotlib runs with
the non-interactive Agg backend so the scripts work on machines with no screen.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from utils.io import atomic_path  # noqa: E402


def save_figure(fig, path) -> str:
    """Write a figure as PNG through a temporary name, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return str(path)
