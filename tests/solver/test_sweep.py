"""Tests of solver.sweep: the sweep file, trial enumeration, local and Dask runs, failures, reruns.

The runs train a 2-layer net of 20 hidden units on the spiral for 2 epochs: a trial trains in
a fraction of a second, and most of a local run's time is starting each trial's process.
"""

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from solver import cli, settings as settings_module
from solver.checkpoint import read_checkpoint
from solver.data import load_dataset
from solver.models import TwoLayerNet
from solver.solver import Solver
from solver.sweep import (
    KILL_ENV, Axis, check_out_dir, finished_records, load_sweep, parse_sweep,
    plot_sweep, run_sweep)
from solver.sweep.results import _axis_scale

HEAD = 'dataset = "spiral"\nmodel = "two-layer"\n'

# 2 learning rates drawn at random x 2 values of reg = 4 trials.
SPIRAL_SWEEP = HEAD + """seed = 3

[fixed]
hidden_dims = [20]
epochs = 2
batch_size = 50

[sweep]
learning_rate = {low = 1e-3, high = 1e-1, scale = "log", count = 2}
reg = [0.0, 1e-3]
"""

PLOTS = ("val_acc_vs_learning_rate.png", "val_acc_vs_reg.png", "lr_vs_reg.png")
PNG = b"\x89PNG\r\n\x1a\n"


def write(folder, text, name="sweep.toml"):
    path = folder / name
    path.write_text(text)
    return path


def command(*argv):
    """Run ``solver sweep ARGV`` through the command line's own entry point."""
    return cli.main(["sweep", *map(str, argv)])


def without_times(records):
    return [{key: value for key, value in record.items() if key != "seconds"}
            for record in records]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """SPIRAL_SWEEP run once on local processes: (sweep, out folder, records, progress calls)."""
    folder = tmp_path_factory.mktemp("local")
    sweep = load_sweep(write(folder, SPIRAL_SWEEP))
    progressed = []
    records = run_sweep(sweep, folder / "out", workers=2, progress=progressed.append)
    return sweep, folder / "out", records, progressed


# --- the sweep file ----------------------------------------------------------------------------

def test_lists_make_a_grid_in_file_order(tmp_path):
    sweep = load_sweep(write(tmp_path, HEAD + "[sweep]\nreg = [0.0, 1e-3, 1e-2]\n"
                                              "batch_size = [25, 50]\n"))
    assert [axis.name for axis in sweep.axes] == ["reg", "batch_size"]
    assert [trial.index for trial in sweep.trials] == list(range(6))
    assert [(t.swept["reg"], t.swept["batch_size"]) for t in sweep.trials] == [
        (0.0, 25), (0.0, 50), (1e-3, 25), (1e-3, 50), (1e-2, 25), (1e-2, 50)]
    assert [list(trial.swept) for trial in sweep.trials] == [["reg", "batch_size"]] * 6


def test_ranges_are_drawn_together_and_crossed_with_the_grid(tmp_path):
    sweep = load_sweep(write(tmp_path, HEAD + """seed = 7
[sweep]
reg = [0.0, 1e-3]
learning_rate = {low = 1e-4, high = 1e-1, scale = "log", count = 5}
weight_scale = {low = 1e-3, high = 1e-1, scale = "linear", count = 5}
"""))
    assert len(sweep.trials) == 10
    draws = [(t.swept["learning_rate"], t.swept["weight_scale"]) for t in sweep.trials]
    assert draws[:5] == draws[5:]  # each grid point tries the same draws
    assert [t.swept["reg"] for t in sweep.trials] == [0.0] * 5 + [1e-3] * 5
    learning_rates, weight_scales = np.array(draws[:5]).T
    assert len(set(learning_rates)) == len(set(weight_scales)) == 5
    assert np.all((1e-4 <= learning_rates) & (learning_rates < 1e-1))
    assert np.all((1e-3 <= weight_scales) & (weight_scales < 1e-1))
    # As documented: SeedSequence(seed)'s first child draws the ranges, in file order.
    rng = np.random.default_rng(np.random.SeedSequence(7).spawn(2)[0])
    np.testing.assert_array_equal(learning_rates, 10.0 ** rng.uniform(-4, -1, 5))
    np.testing.assert_array_equal(weight_scales, rng.uniform(1e-3, 1e-1, 5))
    assert sweep.axes[1] == Axis("learning_rate", tuple(learning_rates), "log")


def test_trial_seeds_are_deterministic_and_derived_from_the_sweep_seed(tmp_path):
    path = write(tmp_path, SPIRAL_SWEEP)
    sweep = load_sweep(path)
    assert load_sweep(path) == sweep
    children = np.random.SeedSequence(3).spawn(2)[1].spawn(4)
    assert [t.seed for t in sweep.trials] == [int(c.generate_state(1)[0]) for c in children]
    assert [t.settings["seed"] for t in sweep.trials] == [t.seed for t in sweep.trials]
    other = load_sweep(write(tmp_path, SPIRAL_SWEEP.replace("seed = 3", "seed = 4"), "b.toml"))
    assert not {t.seed for t in other.trials} & {t.seed for t in sweep.trials}
    assert other.axes[0].values != sweep.axes[0].values


def test_trial_settings_are_solver_trains_with_the_files_on_top(tmp_path):
    sweep = load_sweep(write(tmp_path, HEAD + """[fixed]
update-rule = "sgd_momentum"
hidden_dims = "64"
[sweep]
momentum = [0.5, 0.9]
"""))
    settings = sweep.trials[0].settings
    assert set(settings) == set(settings_module.SETTINGS) - {"out"}
    assert settings["update_rule"] == "sgd_momentum"
    assert settings["hidden_dims"] == [64]
    assert settings["learning_rate"] == 0.1  # tuned for sgd_momentum
    assert [trial.settings["momentum"] for trial in sweep.trials] == [0.5, 0.9]
    assert settings["epochs"] == 30  # solver train's default


BAD_SWEEPS = [
    ("unknown setting", HEAD + "[sweep]\nlearnin_rate = [0.1]\n",
     "[sweep] unknown setting 'learnin_rate'; the settings are"),
    ("empty list", HEAD + "[sweep]\nreg = []\n", "[sweep] reg: the list is empty"),
    ("negative learning rate", HEAD + "[sweep]\nlearning_rate = [0.1, -0.01]\n",
     "[sweep] learning_rate: must be a number > 0, got -0.01"),
    ("negative range", HEAD + "[sweep]\nlearning_rate = {low = -0.1, high = 0.1, "
                              "scale = \"linear\", count = 3}\n",
     "[sweep] learning_rate: low: must be a number > 0, got -0.1"),
    ("bad scale", HEAD + "[sweep]\nreg = {low = 0.0, high = 0.1, scale = \"exp\", count = 3}\n",
     "[sweep] reg: scale must be \"log\" or \"linear\", got 'exp'"),
    ("log from zero", HEAD + "[sweep]\nreg = {low = 0, high = 0.1, scale = \"log\", count = 3}\n",
     "[sweep] reg: a log-scale range needs low > 0, got low = 0"),
    ("empty range", HEAD + "[sweep]\nreg = {low = 0.1, high = 0.1, scale = \"linear\", "
                           "count = 3}\n", "[sweep] reg: low must be below high"),
    ("no draws", HEAD + "[sweep]\nreg = {low = 0, high = 1, scale = \"linear\", count = 0}\n",
     "[sweep] reg: count must be an integer >= 1, got 0"),
    ("missing count", HEAD + "[sweep]\nreg = {low = 0, high = 1, scale = \"linear\"}\n",
     "[sweep] reg: count missing; a range is"),
    ("unknown range key", HEAD + "[sweep]\nreg = {low = 0, high = 1, scale = \"linear\", "
                                 "count = 2, step = 1}\n", "[sweep] reg: unknown key 'step'"),
    ("counts differ", HEAD + "[sweep]\nreg = {low = 0, high = 1, scale = \"linear\", count = 2}"
                             "\nlearning_rate = {low = 1e-4, high = 1, scale = \"log\", "
                             "count = 3}\n", "need the same count; got reg 2, learning_rate 3"),
    ("integer range", HEAD + "[sweep]\nbatch_size = {low = 16, high = 64, scale = \"log\", "
                             "count = 2}\n",
     "[sweep] batch_size: a range draws real numbers, and batch_size refuses the draw"),
    ("single value", HEAD + "[sweep]\nreg = 0.1\n", "[sweep] reg: give a list of values"),
    ("repeated value", HEAD + "[sweep]\nreg = [0.1, 0.2, 0.1]\n",
     "[sweep] reg: 0.1 is listed twice"),
    ("fixed and swept", HEAD + "[fixed]\nreg = 0.1\n[sweep]\nreg = [0.1, 0.2]\n",
     "reg is both in [fixed] and in [sweep]"),
    ("seed in sweep", HEAD + "[sweep]\nseed = [1, 2]\n", "[sweep] seed cannot be set here"),
    ("model in fixed", HEAD + "[fixed]\nmodel = \"fc\"\n[sweep]\nreg = [0.1]\n",
     "[fixed] model cannot be set here"),
    ("bad fixed value", HEAD + "[fixed]\nepochs = 0\n[sweep]\nreg = [0.1]\n",
     "[fixed] epochs: must be an integer >= 1, got 0"),
    ("no dataset", "model = \"fc\"\n[sweep]\nreg = [0.1]\n", "dataset is missing"),
    ("unknown dataset", "dataset = \"mnist\"\nmodel = \"fc\"\n[sweep]\nreg = [0.1]\n",
     "dataset: invalid choice 'mnist'"),
    ("no sweep", HEAD + "[fixed]\nreg = 0.1\n", "sweep is missing"),
    ("empty sweep", HEAD + "[sweep]\n", "[sweep] is empty"),
    ("unknown key", HEAD + "trials = 4\n[sweep]\nreg = [0.1]\n", "unknown key 'trials'"),
    ("bad seed", HEAD + "seed = -1\n[sweep]\nreg = [0.1]\n", "seed must be an integer >= 0"),
    ("rule mismatch", HEAD + "[fixed]\nupdate_rule = \"adam\"\n[sweep]\nmomentum = [0.5]\n",
     "trial 0 (momentum=0.5): --momentum does not apply to --update-rule adam"),
    ("hidden layers", HEAD + "[sweep]\nhidden_dims = [[10], [10, 10]]\n",
     "trial 1 (hidden_dims=10,10): --model two-layer takes 1 hidden width"),
    ("not TOML", HEAD + "[sweep\n", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", [case[1:] for case in BAD_SWEEPS],
                         ids=[case[0] for case in BAD_SWEEPS])
def test_a_bad_sweep_file_is_refused_naming_the_problem(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_sweep(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)

    assert command(path, "--out", tmp_path / "out") == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("solver sweep: error: ")
    assert message in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_python_m_solver_sweep_is_the_entry_point(tmp_path):
    path = write(tmp_path, SPIRAL_SWEEP)
    done = subprocess.run([sys.executable, "-m", "solver", "sweep", str(path), "--out",
                           str(tmp_path / "out"), "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "4 trials, 4 to run" in done.stdout


def test_a_missing_sweep_file_is_refused(tmp_path, capsys):
    assert command(tmp_path / "nowhere.toml", "--out", tmp_path / "out") == 2
    assert "nowhere.toml: cannot read the sweep file" in capsys.readouterr().err


# --- running -----------------------------------------------------------------------------------

def test_a_local_sweep_writes_every_trial_the_table_and_the_plots(local_run):
    sweep, out, records, progressed = local_run
    assert [record["trial"] for record in records] == [0, 1, 2, 3]
    assert [record["status"] for record in records] == ["ok"] * 4
    assert sorted(record["trial"] for record in progressed) == [0, 1, 2, 3]
    for trial, record in zip(sweep.trials, records):
        assert record["seed"] == trial.seed and record["settings"] == trial.swept
        assert 1 / 3 < record["best_val_acc"] <= 1  # better than chance on 3 classes
        assert math.isfinite(record["final_loss"]) and record["seconds"] > 0
        assert record["error"] is None
        folder = out / trial.name
        assert json.loads((folder / "result.json").read_text()) == record
        assert json.loads((folder / "settings.json").read_text()) == trial.settings
        history = json.loads((folder / "history.json").read_text())
        assert max(history["val_acc_history"]) == record["best_val_acc"]
        assert history["loss_history"][-1] == record["final_loss"]
        assert read_checkpoint(folder / "last.npz")["epoch"] == 2
        assert read_checkpoint(folder / "best.npz")["best_val_acc"] == record["best_val_acc"]

    assert json.loads((out / "results.json").read_text()) == records
    with open(out / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4
    assert list(rows[0]) == ["trial", "status", "best_val_acc", "final_loss", "seconds", "seed",
                             "learning_rate", "reg", "error"]
    for row, record in zip(rows, records):
        assert int(row["trial"]) == record["trial"] and row["status"] == "ok"
        for column in ("best_val_acc", "final_loss", "seconds", "learning_rate", "reg"):
            value = record["settings"].get(column, record.get(column))
            assert float(row[column]) == value
        assert int(row["seed"]) == record["seed"] and row["error"] == ""
    stored = json.loads((out / "sweep.json").read_text())
    assert [t["settings"] for t in stored["trials"]] == [t.settings for t in sweep.trials]
    for name in PLOTS:
        assert (out / name).read_bytes().startswith(PNG)


def test_a_trial_is_the_run_its_settings_describe(local_run):
    """Train trial 3 directly with the models and the Solver: the same numbers, bit for bit."""
    sweep, _, records, _ = local_run
    settings = sweep.trials[3].settings
    data = load_dataset("spiral", flatten=True)
    model = TwoLayerNet(2, 20, 3, weight_scale=settings["weight_scale"],
                        reg=sweep.trials[3].swept["reg"], dtype=np.float32,
                        seed=sweep.trials[3].seed)
    solver = Solver(model, data, update_rule="adam", batch_size=50, num_epochs=2,
                    optim_config={"learning_rate": sweep.trials[3].swept["learning_rate"]},
                    lr_decay=settings["lr_decay"], seed=sweep.trials[3].seed,
                    verbose=False).train()
    assert solver.best_val_acc == records[3]["best_val_acc"]
    assert solver.loss_history[-1] == records[3]["final_loss"]


def test_a_rerun_keeps_the_finished_trials(local_run):
    sweep, out, records, _ = local_run
    before = {path: path.stat().st_mtime_ns for path in out.glob("trial-*/*")}
    progressed = []
    assert run_sweep(sweep, out, workers=2, progress=progressed.append) == records
    assert progressed == []
    assert {path: path.stat().st_mtime_ns for path in out.glob("trial-*/*")} == before


def test_a_sweep_whose_trials_changed_is_refused(local_run, tmp_path, capsys):
    sweep, out, records, _ = local_run
    changed = write(tmp_path, SPIRAL_SWEEP.replace("reg = [0.0, 1e-3]", "reg = [0.0, 1e-2]"))
    with pytest.raises(ValueError, match=r"holds another sweep \(trial 2 has reg = 0\.001 there, "
                                         r"0\.01 in "):
        run_sweep(load_sweep(changed), out)
    assert command(changed, "--out", out) == 2
    assert "choose another --out" in capsys.readouterr().err
    more = write(tmp_path, SPIRAL_SWEEP.replace("count = 2", "count = 3"), "more.toml")
    with pytest.raises(ValueError, match="4 trials there, 6 in"):
        check_out_dir(load_sweep(more), out)

    # Comments, layout and the order of [fixed] change no trial: the same sweep.
    same = write(tmp_path, "# the same trials\n" + SPIRAL_SWEEP.replace(
        "epochs = 2\nbatch_size = 50", "batch_size = 50\nepochs = 2"), "same.toml")
    check_out_dir(load_sweep(same), out)
    assert finished_records(load_sweep(same), out) == dict(enumerate(records))


def test_a_sweep_folder_written_before_a_setting_existed_is_the_same_sweep(local_run, tmp_path,
                                                                          monkeypatch):
    """A setting added to solver train since: the folder's trials read with its default."""
    sweep, out, records, _ = local_run
    monkeypatch.setitem(settings_module.SETTINGS, "activation",
                        settings_module.SETTINGS["normalization"]._replace(default="relu",
                                                                           applies=None))
    now = load_sweep(write(tmp_path, SPIRAL_SWEEP))
    assert all(trial.settings["activation"] == "relu" for trial in now.trials)
    assert all("activation" not in trial["settings"]
               for trial in json.loads((out / "sweep.json").read_text())["trials"])
    check_out_dir(now, out)
    assert finished_records(now, out) == dict(enumerate(records))
    other = write(tmp_path, SPIRAL_SWEEP.replace("[fixed]\n", "[fixed]\nactivation = "
                                                 "\"batchnorm\"\n"), "other.toml")
    with pytest.raises(ValueError, match="trial 0 has activation = 'relu' there, 'batchnorm' in"):
        check_out_dir(load_sweep(other), out)


def test_a_dry_run_lists_the_trials_and_runs_nothing(local_run, tmp_path, capsys):
    path = write(tmp_path, SPIRAL_SWEEP)
    assert command(path, "--out", tmp_path / "out", "--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "4 trials, 4 to run" in lines[0]
    assert lines[1].split() == ["trial", "seed", "learning_rate", "reg", "status", "best_val_acc"]
    assert [line.split()[0] for line in lines[2:]] == ["0", "1", "2", "3"]
    assert all(line.endswith("to run") for line in lines[2:])
    assert not (tmp_path / "out").exists()

    _, out, records, _ = local_run
    assert command(path, "--out", out, "--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "4 trials, 0 to run" in lines[0]
    assert [line.split()[-1] for line in lines[2:]] == [
        f"{record['best_val_acc']:.4f}" for record in records]


def test_a_killed_trial_fails_alone_and_a_rerun_retries_only_it(local_run, tmp_path,
                                                                 monkeypatch, capsys):
    path = write(tmp_path, SPIRAL_SWEEP)
    monkeypatch.setenv(KILL_ENV, "1")
    assert command(path, "--out", tmp_path / "out", "--workers", "2") == 1
    said = capsys.readouterr()
    assert "3 ok, 0 diverged, 1 failed" in said.out
    # Into a log (not a terminal) each finished trial is one plain line, and no bar redraws.
    lines = [line for line in said.out.splitlines() if line.startswith("trial-")]
    assert sorted(line.split()[0] for line in lines) == [f"trial-00{i}" for i in range(4)]
    assert [line.split(" (")[-1] for line in lines] == [f"{i} of 4 done)" for i in range(1, 5)]
    failed = next(line for line in lines if line.startswith("trial-001"))
    assert "failed: the trial's process was killed by SIGKILL" in failed
    assert "\r" not in said.err and "sweep:" not in said.err
    records = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [record["status"] for record in records] == ["ok", "failed", "ok", "ok"]
    assert records[1]["error"] == "the trial's process was killed by SIGKILL"
    assert records[1]["best_val_acc"] is None
    with open(tmp_path / "out" / "results.csv", newline="") as file:
        assert [row["status"] for row in csv.DictReader(file)] == ["ok", "failed", "ok", "ok"]

    monkeypatch.delenv(KILL_ENV)
    progressed = []
    records = run_sweep(load_sweep(path), tmp_path / "out", progress=progressed.append)
    assert [record["trial"] for record in progressed] == [1]
    assert without_times(records) == without_times(local_run[2])


def test_a_trial_that_raises_fails_with_its_error(tmp_path):
    (tmp_path / "empty").mkdir()
    path = write(tmp_path, f"""dataset = "cifar10"
model = "two-layer"
[fixed]
data_dir = "{tmp_path / 'empty'}"
[sweep]
reg = [0.0]
""")
    [record] = run_sweep(load_sweep(path), tmp_path / "out", workers=1)
    assert record["status"] == "failed"
    assert record["error"].startswith("FileNotFoundError: load_dataset('cifar10'): no data_batch_1")
    assert finished_records(load_sweep(path), tmp_path / "out") == {}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that makes it diverge
def test_a_diverged_trial_is_a_finished_result(tmp_path):
    path = write(tmp_path, HEAD + """[fixed]
hidden_dims = [20]
epochs = 2
update_rule = "sgd"
weight_scale = 1.0
[sweep]
learning_rate = [0.1, 1e20]
""")
    records = run_sweep(load_sweep(path), tmp_path / "out", workers=2)
    assert [record["status"] for record in records] == ["ok", "diverged"]
    assert "training diverged: the loss became nan" in records[1]["error"]
    assert records[1]["final_loss"] is None
    assert sorted(finished_records(load_sweep(path), tmp_path / "out")) == [0, 1]
    assert command(path, "--out", tmp_path / "out") == 0


def test_workers_are_for_local_runs_only(local_run, capsys):
    sweep, out, _, _ = local_run
    with pytest.raises(ValueError, match="workers sets the trials run at once locally"):
        run_sweep(sweep, out, scheduler="tcp://127.0.0.1:8786", workers=2)
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        run_sweep(sweep, out, workers=0)
    assert command(sweep.source, "--out", out, "--scheduler", "tcp://127.0.0.1:8786",
                   "--workers", "2") == 2
    assert "--workers sets the trials run at once" in capsys.readouterr().err


def test_a_scheduler_without_dask_says_how_to_install_it(local_run, monkeypatch, capsys,
                                                         tmp_path):
    sweep, out, _, _ = local_run
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(ImportError, match=r"--scheduler needs dask\.distributed, which is not "
                                          r"installed; install it with pip install \"\.\[sweep\]"):
        run_sweep(sweep, out, scheduler="tcp://127.0.0.1:8786")
    # (into a folder with trials to run: a finished sweep needs no scheduler)
    assert command(sweep.source, "--out", tmp_path / "fresh", "--scheduler",
                   "tcp://127.0.0.1:8786") == 1
    assert "needs dask.distributed" in capsys.readouterr().err


# --- on a Dask cluster -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_cluster():
    """Two one-thread worker processes on loopback, whose trial 4 kills its own process."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(host="127.0.0.1", processes=True, n_workers=2,
                                  threads_per_worker=1, dashboard_address=None,
                                  env={KILL_ENV: "4"}) as cluster:
        yield cluster


def test_a_dask_cluster_gives_the_same_results(local_run, dask_cluster, tmp_path):
    sweep, local_out, local_records, _ = local_run  # trials 0 to 3: none is killed
    records = run_sweep(sweep, tmp_path / "out", scheduler=dask_cluster.scheduler_address)
    assert without_times(records) == without_times(local_records)
    for trial in sweep.trials:  # the files came back from the workers
        for name in ("last.npz", "history.json"):
            assert (tmp_path / "out" / trial.name / name).is_file()
        best = read_checkpoint(tmp_path / "out" / trial.name / "best.npz")["best_params"]
        local_best = read_checkpoint(local_out / trial.name / "best.npz")["best_params"]
        assert all(np.array_equal(best[name], local_best[name]) for name in local_best)


def test_a_killed_trial_fails_alone_on_dask(local_run, dask_cluster, tmp_path, capsys):
    path = write(tmp_path, SPIRAL_SWEEP.replace("count = 2", "count = 3"))  # 6 trials
    assert command(path, "--out", tmp_path / "out", "--scheduler",
                   dask_cluster.scheduler_address) == 1
    records = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [record["status"] for record in records] == ["ok"] * 4 + ["failed", "ok"]
    # Its own process died, not the worker: Dask saw a task return.
    assert records[4]["error"] == "the trial's process was killed by SIGKILL"
    assert "5 ok, 0 diverged, 1 failed" in capsys.readouterr().out


# --- plots -------------------------------------------------------------------------------------

@pytest.mark.parametrize("axis, scale", [
    (Axis("learning_rate", (1e-3, 2e-3), "log"), "log"),
    (Axis("reg", (0.2, 0.5), "linear"), "linear"),
    (Axis("reg", (1e-4, 1e-3, 1e-2), None), "log"),
    (Axis("reg", (0.0, 1e-4, 1e-2), None), "symlog"),
    (Axis("reg", (0.0, 0.1, 0.5), None), "linear"),
    (Axis("update_rule", ("sgd", "adam"), None), "category"),
    (Axis("hidden_dims", ([64], [64, 64]), None), "category"),
])
def test_axis_scale(axis, scale):
    assert _axis_scale(axis) == scale


def test_plots_draw_categories_and_mark_trials_without_an_accuracy(tmp_path):
    sweep = parse_sweep({"dataset": "spiral", "model": "fc", "sweep": {
        "update_rule": ["sgd", "adam"], "hidden_dims": [[8], [8, 8]],
        "learning_rate": [1e-3, 1e-1], "reg": [0.0, 1e-4, 1e-2]}})
    statuses = ["ok", "diverged", "failed"]
    records = [{"trial": t.index, "status": statuses[t.index % 3], "settings": t.swept,
                "best_val_acc": None if t.index % 3 == 2 else 0.5 + t.index / 100}
               for t in sweep.trials]
    written = plot_sweep(sweep, records, tmp_path)
    assert written == ["val_acc_vs_update_rule.png", "val_acc_vs_hidden_dims.png",
                       "val_acc_vs_learning_rate.png", "val_acc_vs_reg.png", "lr_vs_reg.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)
    for name in written:
        assert (tmp_path / name).read_bytes().startswith(PNG)

    nothing = [{**record, "status": "failed", "best_val_acc": None} for record in records]
    assert plot_sweep(sweep, nothing, tmp_path / "none") == []
