"""Checkpoints: exact round trips, atomic writes, no pickle ever, clear errors for bad files."""

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from solver import FullyConnectedNet, Solver
from solver.checkpoint import read_checkpoint, write_checkpoint


def trained_solver(rng, **kwargs):
    """A float32 net trained two epochs with Adam on a small random problem."""
    X = rng.standard_normal((40, 3, 2)).astype(np.float32)
    y = rng.integers(4, size=40)
    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}
    model = FullyConnectedNet([5], input_dim=6, num_classes=4, weight_scale=0.2, seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    lr_decay=0.9, num_epochs=2, batch_size=16, settings={"dataset": "random"},
                    **kwargs)
    return solver.train()


def test_round_trip_keeps_everything_exactly(rng, tmp_path):
    solver = trained_solver(rng)
    path = tmp_path / "run.npz"
    solver.save_checkpoint(path)
    state = read_checkpoint(path)

    last_params, _ = solver._last
    for name, w in last_params.items():
        assert state["params"][name].dtype == np.float32
        assert np.array_equal(state["params"][name], w)
        assert np.array_equal(state["best_params"][name], solver.best_params[name])
        config = solver.optim_configs[name]
        saved = state["optim_configs"][name]
        assert saved.keys() == config.keys()
        assert np.array_equal(saved["m"], config["m"]) and saved["m"].dtype == np.float32
        assert np.array_equal(saved["v"], config["v"])
        assert saved["t"] == config["t"] and type(saved["t"]) is int
        assert saved["learning_rate"] == config["learning_rate"] == 1e-2 * 0.9 * 0.9
    assert state["buffers"] == {} and state["best_buffers"] == {}
    assert state["loss_history"] == solver.loss_history
    assert state["train_acc_history"] == solver.train_acc_history
    assert state["val_acc_history"] == solver.val_acc_history
    assert state["val_loss_history"] == solver.val_loss_history
    assert len(solver.val_loss_history) == 2 + 1
    assert state["epoch"] == 2 and state["best_val_acc"] == solver.best_val_acc
    assert state["rng_state"] == solver._rng.bit_generator.state
    assert state["settings"] == {"dataset": "random"}
    assert state["solver"] == {
        "update_rule": "adam",
        "optim_config": {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        "lr_decay": 0.9, "batch_size": 16, "num_epochs": 2, "num_train_samples": 1000,
        "num_val_samples": None, "seed": 0, "patience": None, "clip_norm": None,
        "model": "FullyConnectedNet"}
    assert state["diverged"] is None
    assert state["grad_norm_history"] == [] and "grad_norm_history" not in np.load(path).files


def test_file_holds_plain_arrays_only(rng, tmp_path):
    trained_solver(rng).save_checkpoint(tmp_path / "run.npz")
    with np.load(tmp_path / "run.npz", allow_pickle=False) as npz:
        assert all(npz[key].dtype.kind in "biufU" for key in npz.files)
        assert "params/W1" in npz.files and "optim/W1/m" in npz.files
        assert npz["meta"].shape == () and npz["meta"].dtype.kind == "U"


def test_error_mid_write_leaves_the_previous_checkpoint_intact(rng, tmp_path, monkeypatch):
    solver = trained_solver(rng)
    path = tmp_path / "last.npz"
    solver.save_checkpoint(path)
    before = path.read_bytes()

    def crashing_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crashing_savez)
    solver.epoch = 99
    with pytest.raises(OSError, match="disk full"):
        solver.save_checkpoint(path)
    assert path.read_bytes() == before
    assert read_checkpoint(path)["epoch"] == 2
    assert os.listdir(tmp_path) == ["last.npz"]  # the temporary file is gone


def test_error_at_the_rename_leaves_the_previous_checkpoint_intact(rng, tmp_path, monkeypatch):
    solver = trained_solver(rng)
    path = tmp_path / "last.npz"
    solver.save_checkpoint(path)

    def failing_replace(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", failing_replace)
    solver.epoch = 99
    with pytest.raises(OSError, match="power cut"):
        solver.save_checkpoint(path)
    assert read_checkpoint(path)["epoch"] == 2
    assert os.listdir(tmp_path) == ["last.npz"]


class Payload:
    """Unpickling this creates the file ``marker``: proof that a load ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_pickled_object_array_is_refused_and_never_unpickled(rng, tmp_path):
    good = tmp_path / "good.npz"
    trained_solver(rng).save_checkpoint(good)
    with np.load(good) as npz:
        arrays = {key: npz[key] for key in npz.files}
    marker = tmp_path / "code-ran"
    arrays["params/W1"] = np.array([Payload(marker)], dtype=object)
    evil = tmp_path / "evil.npz"
    np.savez(evil, allow_pickle=True, **arrays)
    with pytest.raises(ValueError, match="a pickled object array 'params/W1'.*never unpickled"):
        read_checkpoint(evil)
    assert not marker.exists()


def test_a_pickle_file_is_refused_and_never_unpickled(tmp_path):
    live = tmp_path / "payload-works"
    pickle.loads(pickle.dumps(Payload(live)))
    assert live.exists()  # the payload does run code when unpickled
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.npz"
    evil.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="is not an .npz file: numpy would have to unpickle it"):
        read_checkpoint(evil)
    assert not marker.exists()


def flip_a_data_byte(path, member):
    """Corrupt one byte inside the stored data of a zip member, as a bad disk would."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    data_start = info.header_offset + 30 + name_len + extra_len
    raw[data_start + info.compress_size - 1] ^= 0xFF
    path.write_bytes(bytes(raw))


def rewrite_meta(path, change):
    """Re-save a checkpoint with its meta record changed by ``change(meta) -> meta``."""
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["meta"] = np.array(change(json.loads(str(arrays["meta"]))))
    np.savez(path, **arrays)


BAD_FILES = {
    "garbage": (lambda p: p.write_bytes(b"\x00not a zip at all" * 8),
                r"is not an \.npz file \(nor any file numpy saves\)$"),
    "text": (lambda p: p.write_text("epoch,loss\n1,0.5\n"),
             r"is not an \.npz file \(nor any file numpy saves\)$"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
                  "not a readable .npz file"),
    "flipped byte": (lambda p: flip_a_data_byte(p, "params/W1.npy"),
                     "is corrupt: array 'params/W1'"),
    "foreign npz": (lambda p: np.savez(p, W1=np.zeros(3)), r"not a Solver checkpoint \(no 'meta'"),
    "npy file": (lambda p: p.write_bytes(b"") or np.save(p.open("wb"), np.zeros(3)),
                 r"holds a single array \(\.npy\)"),
    "other format": (lambda p: rewrite_meta(p, lambda m: json.dumps({**m, "format": "x"})),
                     "its 'meta' names another format"),
    "newer version": (lambda p: rewrite_meta(p, lambda m: json.dumps({**m, "version": 3})),
                      "is a version 3 checkpoint; this library reads versions 1 and 2"),
    "meta not json": (lambda p: rewrite_meta(p, lambda m: "{not json"),
                      "'meta' record is not JSON"),
    "meta incomplete": (lambda p: rewrite_meta(p, lambda m: json.dumps(
        {k: v for k, v in m.items() if k != "epoch"})), "is corrupt: it lacks epoch"),
}


@pytest.mark.parametrize("damage, message", BAD_FILES.values(), ids=list(BAD_FILES))
def test_corrupt_or_foreign_file_is_a_clear_value_error(damage, message, rng, tmp_path):
    path = tmp_path / "last.npz"
    trained_solver(rng).save_checkpoint(path)
    damage(path)
    with pytest.raises(ValueError, match=rf"^read_checkpoint: '.*last\.npz' .*({message})"):
        read_checkpoint(path)


def test_write_into_a_missing_folder_names_the_path_given(rng, tmp_path):
    path = tmp_path / "nowhere" / "last.npz"
    with pytest.raises(FileNotFoundError, match=r"^write_checkpoint: '.*nowhere/last\.npz': "
                                                r"the folder '.*nowhere' does not exist$"):
        trained_solver(rng).save_checkpoint(path)
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_file_is_file_not_found_as_python_says(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^read_checkpoint: '.*none\.npz' does not "
                                                r"exist$"):
        read_checkpoint(tmp_path / "none.npz")


def test_resume_passes_on_the_read_error(rng, tmp_path):
    solver = trained_solver(rng)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        solver.resume(tmp_path / "nowhere.npz")


def test_write_refuses_what_would_need_pickle_or_break_the_layout(rng, tmp_path):
    solver = trained_solver(rng)
    solver.save_checkpoint(tmp_path / "good.npz")
    state = read_checkpoint(tmp_path / "good.npz")
    state["params"]["W1"] = np.array([{"a": 1}], dtype=object)
    with pytest.raises(ValueError, match=r"write_checkpoint: params\['W1'\] must be an array of"):
        write_checkpoint(tmp_path / "x.npz", state)
    state["params"] = {"a/b": np.zeros(2)}
    with pytest.raises(ValueError, match="names must be non-empty strings without '/'"):
        write_checkpoint(tmp_path / "y.npz", state)
    assert os.listdir(tmp_path) == ["good.npz"]
