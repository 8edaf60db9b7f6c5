"""A sweep's results: the table of trials (CSV and JSON), the accuracy plots, the summary.

The output folder of ``solver sweep --out DIR``::

    DIR/sweep.json                 the trials: index, seed and every setting
    DIR/trial-NNN/                 last.npz, best.npz, history.json (as ``solver train``),
                                   settings.json, and result.json, written last
    DIR/results.csv, results.json  a row per trial: trial, status, best_val_acc, final_loss
                                   (the last minibatch's), seconds, seed, the swept settings,
                                   error
    DIR/val_acc_vs_<setting>.png   best validation accuracy against each swept setting
    DIR/lr_vs_reg.png              learning rate against reg, coloured by accuracy (when
                                   both are swept)

``records`` are lists of dicts, one per trial (see :func:`solver.sweep.execute.run_trial`).
"""

import csv
import io
import json
from pathlib import Path

from .._files import replaced
from .spec import format_value

COLUMNS = ("trial", "status", "best_val_acc", "final_loss", "seconds", "seed")


def write_atomic(path, content):
    """Write bytes to ``path`` through a temporary file renamed over it."""
    with replaced(path) as file:
        file.write(content)


def write_json(path, value):
    write_atomic(path, (json.dumps(value, indent=1, allow_nan=False) + "\n").encode())


def write_results(records, out_dir):
    """``results.json`` (the records) and ``results.csv`` (a row each) in ``out_dir``.

    The CSV's columns are trial, status, best_val_acc, final_loss, seconds, seed, the swept
    settings (a list as JSON, ``[64, 64]``) and error; a missing number is an empty cell.
    """
    out_dir = Path(out_dir)
    write_json(out_dir / "results.json", records)
    swept = list(records[0]["settings"]) if records else []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*COLUMNS, *swept, "error"])
    for record in records:
        values = [record[column] for column in COLUMNS]
        values += [json.dumps(value) if isinstance(value, list) else value
                   for value in (record["settings"][name] for name in swept)]
        writer.writerow(["" if value is None else value for value in (*values, record["error"])])
    write_atomic(out_dir / "results.csv", text.getvalue().encode())


def _axis_scale(axis):
    """How to draw a swept setting: 'linear', 'log', 'symlog' or 'category'.

    A range is drawn at its own scale. A list of positive numbers that spans two decades or
    more is drawn 'log' ('symlog' if it also holds 0, as reg = [0, 1e-4, 1e-2] does); a list
    that is not all numbers (update rules, hidden_dims) as categories; any other, 'linear'.
    """
    if axis.scale is not None:
        return axis.scale
    values = axis.values
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "category"
    positive = [v for v in values if v > 0]
    if len(positive) >= 2 and max(positive) >= 100 * min(positive) and min(values) >= 0:
        return "log" if len(positive) == len(values) else "symlog"
    return "linear"


def _place(ax_set_scale, axis, values):
    """Set one axis of a plot for ``axis``; return the positions of ``values`` on it."""
    scale = _axis_scale(axis)
    if scale == "category":
        return [axis.values.index(value) for value in values]
    if scale == "symlog":
        ax_set_scale("symlog", linthresh=min(v for v in axis.values if v > 0))
    else:
        ax_set_scale(scale)
    return values


def plot_sweep(sweep, records, out_dir):
    """Accuracy plots of a sweep as PNGs in ``out_dir``; returns the files' names.

    ``val_acc_vs_<setting>.png`` for each swept setting: every trial with an accuracy, its
    best validation accuracy against the setting's value (diverged trials as crosses), and
    the trials without one (failed, or diverged in their first epoch) as red crosses at 0;
    ``lr_vs_reg.png`` when both are swept: every trial at its learning rate and reg, coloured
    by accuracy (diverged and failed trials as grey crosses). Log axes where the range's scale
    is log, or a list spans two decades. Nothing is drawn when no trial has an accuracy.
    Each PNG is written atomically.
    """
    from matplotlib.figure import Figure  # no pyplot: no window, no global figure list

    from ..plots import save_figure

    out_dir = Path(out_dir)
    scored = [record for record in records if record["best_val_acc"] is not None]
    if not scored:
        return []
    written = []
    for axis in sweep.axes:
        fig = Figure(figsize=(5, 4), layout="constrained")
        ax = fig.subplots()
        for status, marker in (("ok", "o"), ("diverged", "x")):
            chosen = [record for record in scored if record["status"] == status]
            if chosen:
                x = _place(ax.set_xscale, axis, [r["settings"][axis.name] for r in chosen])
                ax.scatter(x, [r["best_val_acc"] for r in chosen], marker=marker, alpha=0.8,
                           label=status)
        unscored = [record for record in records if record["best_val_acc"] is None]
        if unscored:  # marked on the axis, not dropped: a failed trial is a finding too
            x = _place(ax.set_xscale, axis, [r["settings"][axis.name] for r in unscored])
            ax.scatter(x, [0.0] * len(unscored), marker="x", color="tab:red", clip_on=False,
                       label="failed or diverged at once (no accuracy)")
        if _axis_scale(axis) == "category":
            ax.set_xticks(range(len(axis.values)), [format_value(v) for v in axis.values])
        ax.set(title=f"Validation accuracy against {axis.name}", xlabel=axis.name,
               ylabel="best validation accuracy")
        ax.grid(alpha=0.3)
        if len({record["status"] for record in scored}) > 1 or unscored:
            ax.legend()
        name = f"val_acc_vs_{axis.name}.png"
        save_figure(fig, out_dir / name)
        written.append(name)

    axes = {axis.name: axis for axis in sweep.axes}
    if "learning_rate" in axes and "reg" in axes:
        fig = Figure(figsize=(6, 4.5), layout="constrained")
        ax = fig.subplots()

        def positions(chosen):
            return (_place(ax.set_xscale, axes["learning_rate"],
                           [record["settings"]["learning_rate"] for record in chosen]),
                    _place(ax.set_yscale, axes["reg"],
                           [record["settings"]["reg"] for record in chosen]))

        ok = [record for record in records if record["status"] == "ok"]
        if ok:
            points = ax.scatter(*positions(ok), c=[record["best_val_acc"] for record in ok],
                                cmap="viridis", s=60, edgecolors="k", linewidths=0.5)
            fig.colorbar(points, ax=ax, label="best validation accuracy")
        others = [record for record in records if record["status"] != "ok"]
        if others:
            ax.scatter(*positions(others), marker="x", color="0.5", label="diverged or failed")
            ax.legend(loc="upper right")
        ax.set(title="Learning rate and regularization", xlabel="learning_rate", ylabel="reg")
        save_figure(fig, out_dir / "lr_vs_reg.png")
        written.append("lr_vs_reg.png")
    return written


def _table(header, rows):
    """Rows of strings as aligned columns, numbers on the right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = []
    for row in (header, *rows):
        cells = [cell.rjust(w) if cell[:1].isdigit() or cell[:1] == "-" else cell.ljust(w)
                 for cell, w in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_trials(sweep, records, trials=None):
    """A table of trials under a header row: number, seed, swept settings, the status from
    ``records`` and the best validation accuracy in a column of its own.

    ``records`` maps trial index -> record; a trial without one shows as 'to run'. ``trials``
    are the trials to list, in order (default: all of them).
    """
    names = [axis.name for axis in sweep.axes]
    rows = []
    for trial in sweep.trials if trials is None else trials:
        record = records.get(trial.index)
        status = "to run" if record is None else record["status"]
        accuracy = ("" if record is None or record["best_val_acc"] is None
                    else f"{record['best_val_acc']:.4f}")
        rows.append([str(trial.index), str(trial.seed),
                     *(format_value(trial.swept[name]) for name in names), status, accuracy])
    return _table(["trial", "seed", *names, "status", "best_val_acc"], rows)


def summary(sweep, records, out_dir, wrote=True):
    """What a finished sweep prints: counts, the five best trials, and (``wrote``) where the
    files are."""
    counts = {status: sum(r["status"] == status for r in records)
              for status in ("ok", "diverged", "failed")}
    lines = [f"{len(records)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items())
             + (" (run the same command again to retry the failed)" if counts["failed"] else "")]
    scored = sorted((r for r in records if r["best_val_acc"] is not None),
                    key=lambda r: (-r["best_val_acc"], r["trial"]))[:5]
    if scored:
        lines.append(f"the {len(scored)} best:")
        lines.append(format_trials(sweep, {r["trial"]: r for r in scored},
                                   [sweep.trials[r["trial"]] for r in scored]))
    if wrote:
        lines.append(f"wrote trial-NNN/, results.csv, results.json and plots in {out_dir}")
    return "\n".join(lines)
