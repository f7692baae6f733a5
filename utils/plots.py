"""Figures: learning curves, distance-response curves, attribution logos, summary plots,
the benchmark leaderboard's heat map and verdict grid.

Every function writes one PNG atomically and returns its path. matplotlib runs with
the non-interactive Agg backend so the scripts work on machines with no screen.
"""
from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# a missing optional font (STIX, Computer Modern: mathtext's, which the pattern logos' text pulls in)
# falls back to DejaVu Sans with one warning line per family on stderr; the figures are the same
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

from utils.io import atomic_path  # noqa: E402


def save_figure(fig, path) -> str:
    """Write a figure as PNG through a temporary name, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return str(path)


# ----------------------------------------------------------------------------- attribution (issue 5)
RULE_SITE_COLOR = "tab:orange"     # planted instances of a motif the rule uses
OTHER_SITE_COLOR = "0.55"          # decoys and other planted motifs


LOGO_WIDTH = 0.95            # a letter's share of its column (logomaker's Glyph default)
_LETTER_PATHS: dict = {}     # (letter, flipped) -> (unit vertices, codes): each TextPath built once


def _unit_letter(letter: str, flip: bool):
    """A letter's outline placed as ``logomaker.Glyph`` places it in a column of width
    :data:`LOGO_WIDTH` centred on 0 with floor 0 and height 1 (bold sans, stretched no wider than
    an 'E', flipped upside down when below the baseline) -> (vertices (n, 2), path codes)."""
    key = (letter, flip)
    if key not in _LETTER_PATHS:
        import matplotlib.font_manager as fm
        from matplotlib.path import Path
        from matplotlib.textpath import TextPath

        prop = fm.FontProperties(family="sans", weight="bold")
        path = TextPath((0, 0), letter, size=1, prop=prop)
        widest = TextPath((0, 0), "E", size=1, prop=prop).get_extents()
        v = path.vertices.copy()
        if flip:
            v[:, 1] = -v[:, 1]
        box = Path(v, path.codes).get_extents()
        stretch = min(LOGO_WIDTH / box.width, LOGO_WIDTH / widest.width)
        v[:, 0] = (v[:, 0] - box.xmin) * stretch - LOGO_WIDTH / 2 + (LOGO_WIDTH - stretch * box.width) / 2
        v[:, 1] = (v[:, 1] - box.ymin) / box.height
        _LETTER_PATHS[key] = (v, path.codes)
    return _LETTER_PATHS[key]


def draw_logo(ax, values) -> None:
    """A sequence logo of an (L, 4) ACGT height matrix on ``ax``, drawn as ``logomaker.Logo`` draws it
    (classic colours, bold sans letters stacked from the baseline, smallest nearest it, those below
    it flipped; the same outlines as ``logomaker.Glyph``), but each letter's outline is built once
    and every letter of the panel goes into one PathCollection: a Glyph per letter costs
    milliseconds (~0.8 s per 200 bp panel). Zero cells are not drawn, nor letters under 1/400 of
    the panel's height (half a pixel): a smooth model gives every position a tiny value.
    """
    import numpy as np
    from logomaker.src.colors import get_color_dict
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path

    colors = get_color_dict("classic", "ACGT")
    values = np.asarray(values, dtype=np.float64)
    span = values.clip(min=0).sum(axis=1).max(initial=0.0) - values.clip(max=0).sum(axis=1).min(initial=0.0)
    visible = (values != 0) & (np.abs(values) >= span / 400.0)
    paths, faces = [], []
    for pos in np.flatnonzero(np.any(visible, axis=1)):
        row = values[pos]
        up = down = 0.0
        for base in np.argsort(np.abs(row), kind="stable"):     # smallest nearest the baseline, as logomaker
            h = row[base]
            if not visible[pos, base]:
                continue
            letter = "ACGT"[base]
            unit, codes = _unit_letter(letter, h < 0)
            floor = up if h > 0 else down + h
            paths.append(Path(unit * (1.0, abs(h)) + (pos, floor), codes))
            faces.append(colors[letter])
            if h > 0:
                up += h
            else:
                down += h
    if paths:
        ax.add_collection(PathCollection(paths, facecolors=faces, edgecolors="none", linewidths=0), autolim=True)
        ax.autoscale_view()
    ax.axhline(0.0, color="black", linewidth=0.3, zorder=-1)


def plot_attribution_logos(path, heights_by_method: dict, sites: list, rule_motifs, title: str = "") -> str:
    """One sequence, one logomaker panel per method, planted sites shaded and labelled.

    ``heights_by_method``: {method: (L, 4) letter heights over ACGT} (attribution x
    one-hot input, see :func:`utils.localization.observed_base_map`); ``sites``: the
    sequence's :class:`utils.seqfiles.Site` records (0-based, end exclusive); sites of
    ``rule_motifs`` are shaded orange, others grey.
    """
    import numpy as np
    from matplotlib.transforms import blended_transform_factory

    methods = list(heights_by_method)
    length = int(np.asarray(next(iter(heights_by_method.values()))).shape[0]) if methods else 0
    rule = set(rule_motifs)
    width = min(max(6.0, 0.075 * length), 24.0)
    fig, axes = plt.subplots(max(len(methods), 1), 1, figsize=(width, 1.5 * max(len(methods), 1) + 0.5),
                             sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, method in zip(axes, methods):
        values = np.nan_to_num(np.asarray(heights_by_method[method], dtype=np.float64))
        draw_logo(ax, values)
        for site in sites:
            ax.axvspan(site.start - 0.5, site.end - 0.5, zorder=-1, alpha=0.18, linewidth=0,
                       color=RULE_SITE_COLOR if site.motif in rule else OTHER_SITE_COLOR)
        low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
        pad = 0.08 * (high - low) if high > low else 1.0
        ax.set_ylim(low - pad, high + pad)
        ax.set_ylabel(method, rotation=0, ha="right", va="center")
        ax.spines[["top", "right"]].set_visible(False)
    top = axes[0]
    label_at = blended_transform_factory(top.transData, top.transAxes)
    for site in sites:
        top.text((site.start + site.end - 1) / 2, 1.02, f"{site.motif} ({site.strand})", transform=label_at,
                 ha="center", va="bottom", fontsize=7,
                 color=RULE_SITE_COLOR if site.motif in rule else "0.35")
    axes[-1].set_xlabel("position (bp)")
    axes[-1].set_xlim(-0.5, max(length, 1) - 0.5)
    if title:
        top.set_title(title, fontsize=9, loc="left", pad=14 if sites else 6)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pattern_logo(path, cwm, pwm=None, title: str = "") -> str:
    """A motif-discovery pattern beside the planted PWM it matches best: the pattern's contribution
    logo (``cwm``: (w, 4) mean contribution of its seqlets over ACGT) on the left, the PWM's
    information-content logo (``pwm``: (w', 4) base probabilities, already on the matched strand)
    on the right; the pattern alone when ``pwm`` is None."""
    import numpy as np

    panels = 2 if pwm is not None else 1
    cwm = np.nan_to_num(np.asarray(cwm, dtype=np.float64))
    widths = [len(cwm)] + ([len(pwm)] if pwm is not None else [])
    fig, axes = plt.subplots(1, panels, figsize=(0.3 * sum(widths) + 1.5 * panels, 1.8), squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    axes = axes[0]
    draw_logo(axes[0], cwm)
    low, high = float(cwm.clip(max=0).sum(1).min(initial=0.0)), float(cwm.clip(min=0).sum(1).max(initial=0.0))
    pad = 0.08 * (high - low) if high > low else 1.0
    axes[0].set_ylim(low - pad, high + pad)
    axes[0].set_ylabel("contribution", fontsize=8)
    if pwm is not None:
        p = np.asarray(pwm, dtype=np.float64)
        ic = 2.0 + (p * np.log2(np.clip(p, 1e-9, None))).sum(axis=1)
        draw_logo(axes[1], p * ic[:, None])
        axes[1].set_ylim(0, 2)
        axes[1].set_ylabel("bits", fontsize=8)
    for ax, w in zip(axes, widths):
        ax.set_xlim(-0.5, w - 0.5)
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        axes[0].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_attribution_scores(rows: list[dict], path, auprc_chance: float | None = None) -> str:
    """The methods side by side: localization auROC, auPRC (mean with SD bars), seconds per sequence.

    ``rows``: score rows of :func:`utils.localization.score_attributions`;
    ``auprc_chance``: fraction of site positions, drawn as auPRC's chance line.
    """
    import numpy as np

    names = [r["method"] for r in rows]
    xs = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(max(7.5, 1.6 * len(rows) + 3.0), 3.2))
    for ax, key, label, chance in ((axes[0], "auroc", "localization auROC", 0.5),
                                   (axes[1], "auprc", "localization auPRC", auprc_chance)):
        means = [r[f"{key}_mean"] for r in rows]
        sds = [r[f"{key}_sd"] if np.isfinite(r[f"{key}_sd"]) else 0.0 for r in rows]
        ax.bar(xs, means, yerr=sds, color="tab:blue", alpha=0.8, capsize=3)
        if chance is not None:
            ax.axhline(chance, color="grey", linestyle="--", linewidth=0.8, zorder=3)
            ax.text(1.0, chance, " chance", transform=ax.get_yaxis_transform(), fontsize=7,
                    color="grey", va="center", ha="left")
        ax.set_ylim(0, 1.05)
        ax.set_title(label)
    seconds = [max(r["seconds_per_seq"], 1e-6) for r in rows]
    axes[2].bar(xs, seconds, color="tab:green", alpha=0.8)
    axes[2].set_yscale("log")
    axes[2].set_title("seconds per sequence")
    for ax in axes:
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_learning_curves(history: list[dict], path, best_epoch: int | None = None,
                         loss_name: str = "binary cross-entropy") -> str:
    """Loss and auROC per epoch, training against validation, from history rows.

    ``history`` holds one dict per epoch with ``epoch`` and Keras' logs
    (``loss``, ``val_loss``, ``auroc``, ``val_auroc``, ...); missing series are skipped, and
    without any auROC (a regression) the figure shows the loss alone, titled ``loss_name``.
    ``best_epoch``, if given, is marked as the epoch whose weights were kept.
    """
    epochs = [row["epoch"] for row in history]
    panels = [("loss", loss_name)]
    if any(row.get(key) is not None for row in history for key in ("auroc", "val_auroc")):
        panels.append(("auroc", "auROC"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    for ax, (metric, title) in zip(axes[0], panels):
        ax.set_title(title)
        for key, label, style in ((metric, "train", "-"), (f"val_{metric}", "validation", "--")):
            values = [row.get(key) for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker="o", markersize=3, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linewidth=0.8, linestyle=":", label="weights kept")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_distance_curve(path, gaps, mean, low, high, pair, planted_window=None, found_window=None,
                        phase_spans=None) -> str:
    """Mean probability against the gap between the pair, with its band and the windows
    (``phase_spans``: a phasing rule's in-phase stretches [lo, hi] of gaps, shaded instead)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 3.6))
    gaps = np.asarray(gaps)
    ax.fill_between(gaps, low, high, color="tab:blue", alpha=0.25, linewidth=0, label="95% bootstrap band")
    ax.plot(gaps, mean, color="tab:blue", marker=".", label="mean probability")
    if planted_window:
        ax.axvspan(planted_window[0] - 0.5, planted_window[1] + 0.5, color="tab:green", alpha=0.15,
                   label=f"planted window {planted_window[0]}-{planted_window[1]} bp")
    for k, (lo, hi) in enumerate(phase_spans or ()):
        ax.axvspan(lo - 0.5, hi + 0.5, color="tab:green", alpha=0.15,
                   label="planted in-phase gaps" if k == 0 else None)
    if found_window:
        for edge in found_window:
            ax.axvline(edge, color="tab:red", linestyle="--", linewidth=1)
        ax.plot([], [], color="tab:red", linestyle="--", label=f"found {found_window[0]}-{found_window[1]} bp")
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"gap between {pair[0]} and {pair[1]} (bp, end of first to start of second)")
    ax.set_ylabel("model probability")
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def plot_dose_curve(path, counts, mean, low, high, motif, planted_threshold=None, found_threshold=None,
                    level=None, ylabel="model probability") -> str:
    """Mean output against the number of copies of ``motif``, with its band, the planted
    threshold (shaded from K up) and the threshold found (a dashed line at that count)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 3.4))
    counts = np.asarray(counts)
    ax.fill_between(counts, low, high, color="tab:blue", alpha=0.25, linewidth=0, label="95% bootstrap band")
    ax.plot(counts, mean, color="tab:blue", marker="o", label="mean output")
    if planted_threshold is not None:
        ax.axvspan(planted_threshold - 0.5, counts.max() + 0.5, color="tab:green", alpha=0.15,
                   label=f"planted positive: {planted_threshold} copies or more")
    if found_threshold is not None:
        ax.axvline(found_threshold - 0.5, color="tab:red", linestyle="--", linewidth=1,
                   label=f"threshold found: {found_threshold}")
    if level is not None and np.isfinite(level):
        ax.axhline(level, color="grey", linewidth=0.8, label="the curve's mid-level")
    if ylabel == "model probability":
        ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(counts)
    ax.set_xlabel(f"copies of {motif}")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def plot_position_curve(path, starts, mean, low, high, motif, planted_region=None, found_region=None,
                        ylabel: str = "model probability") -> str:
    """Mean output against the start of the moved motif (0-based), with its band, the planted region
    [start, end) shaded and the region found marked at its edges."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 3.6))
    starts = np.asarray(starts)
    ax.fill_between(starts, low, high, color="tab:blue", alpha=0.25, linewidth=0, label="95% bootstrap band")
    ax.plot(starts, mean, color="tab:blue", marker=".", label="mean output")
    if planted_region:
        ax.axvspan(planted_region[0] - 0.5, planted_region[1] - 0.5, color="tab:green", alpha=0.15,
                   label=f"planted region [{planted_region[0]}, {planted_region[1]})")
    if found_region:
        for edge in found_region:
            ax.axvline(edge - 0.5, color="tab:red", linestyle="--", linewidth=1)
        ax.plot([], [], color="tab:red", linestyle="--", label=f"found [{found_region[0]}, {found_region[1]})")
    if ylabel == "model probability":
        ax.axhline(0.5, color="grey", linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"start of {motif} (bp, 0-based)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- benchmark leaderboard
VERDICT_COLOURS = {"recovered": "#2b8a3e", "weakly learned": "#f08c00", "not recovered": "#c92a2a",
                   "undetermined": "#adb5bd"}


def plot_localization_heatmap(grid, row_labels: list[str], rules: list[str], path) -> str:
    """(Method, model) x rule heat map of mean localization auROC, colour scale 0.5 (chance) to 1.

    ``grid``: (P, R) auROC, NaN cells left blank; ``row_labels`` the P (method, model) pairs,
    ``rules`` the R columns (see :func:`utils.leaderboard.localization_grid`).
    """
    import numpy as np

    grid = np.asarray(grid, dtype=np.float64)
    methods = list(row_labels)
    fig, ax = plt.subplots(figsize=(2.4 + 1.4 * len(rules), 1.2 + 0.6 * max(1, len(methods))))
    im = ax.imshow(grid, vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(rules)), rules)
    ax.set_yticks(range(len(methods)), methods)
    for i in range(len(methods)):
        for j in range(len(rules)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center",
                        color="white" if grid[i, j] < 0.8 else "black")
    fig.colorbar(im, ax=ax, label="localization auROC")
    ax.set_title("Localization auROC by method, model and rule")
    return save_figure(fig, path)


def plot_verdict_grid(runs: list[dict], path) -> str:
    """Rule x model grid of verdicts (one cell per seed), outlined where the verdict is wrong.

    ``runs``: one dict per run with ``rule``, ``model``, ``seed``, ``verdict`` and
    ``agrees_with_capability`` (leaderboard rows, one per run); colours are :data:`VERDICT_COLOURS`.
    """
    from matplotlib.patches import Rectangle

    models = sorted({r["model"] for r in runs})
    rules = sorted({r["rule"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    colours = VERDICT_COLOURS
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(rules), 1.0 + 0.55 * len(models)))
    width = 1.0 / max(1, len(seeds))
    for r in runs:
        j, i, k = rules.index(r["rule"]), models.index(r["model"]), seeds.index(r["seed"])
        ax.add_patch(Rectangle((j - 0.5 + k * width, i - 0.45), width * 0.95, 0.9,
                               color=colours.get(r["verdict"], "white")))
        if not r["agrees_with_capability"]:
            ax.add_patch(Rectangle((j - 0.5 + k * width, i - 0.45), width * 0.95, 0.9, fill=False,
                                   edgecolor="black", linewidth=2))
    ax.set_xlim(-0.5, len(rules) - 0.5)
    ax.set_ylim(-0.5, len(models) - 0.5)
    ax.set_xticks(range(len(rules)), rules)
    ax.set_yticks(range(len(models)), models)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    ax.legend(handles, list(colours), loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title("Verdicts (one cell per seed; outlined: wrong for the model's capability)")
    return save_figure(fig, path)
