"""Solver checkpoints: one ``.npz`` of plain arrays, written atomically, read without pickle.

    write_checkpoint(path, state)
    state = read_checkpoint(path)
    save_arrays(path, arrays), load_arrays(path, where)    what the models' save/load use

``state`` is a plain dict:

    params, buffers             dict name -> ndarray: the model's weights and other state
    best_params, best_buffers   the same, from the epoch with the best validation accuracy
    optim_configs               dict param name -> the update rule's config for that parameter
                                (hyperparameters and state: learning_rate, velocity, m, v, t, ...)
    loss_history                list of float, one per iteration
    train_acc_history           list of float, one per epoch
    val_acc_history             list of float, one per epoch
    val_loss_history            list of float, one per epoch (a version 1 file, written before
                                it was recorded, reads as NaN at every epoch)
    grad_norm_history           list of float, one per iteration with gradient clipping; empty
                                without it (and in files written before it was kept)
    epoch                       int, completed epochs
    best_val_acc                float
    rng_state                   dict, the Solver generator's ``bit_generator.state``
    solver                      dict, the Solver's own settings (update_rule, optim_config,
                                lr_decay, batch_size, num_epochs, seed, ...)
    settings                    dict, the user's settings, as given to the Solver
    diverged                    None, or where training diverged: {epoch, iteration, loss}

In the file, arrays sit under ``params/<name>``, ``buffers/<name>``, ``best_params/<name>``,
``best_buffers/<name>``, ``optim/<param>/<key>`` and the four history names; everything
else is JSON in ``meta``, a 0-d unicode array (JSON holds the generator's big integers
exactly). Nothing is pickled, and the file is read with ``allow_pickle=False``, so loading a
checkpoint can never run code.
"""

import contextlib
import json
import os
import zipfile
import zlib

import numpy as np

from ._files import replaced

FORMAT = "backprop-layers solver checkpoint"
VERSION = 2  # version 2 added val_loss_history; version 1 files are read too

ARRAY_GROUPS = ("params", "buffers", "best_params", "best_buffers")
HISTORIES = ("loss_history", "train_acc_history", "val_acc_history", "val_loss_history")
OPTIONAL_HISTORIES = ("grad_norm_history",)  # written when not empty; read as [] when absent
META_KEYS = ("epoch", "best_val_acc", "rng_state", "solver", "settings", "diverged")


def write_checkpoint(path, state):
    """Write ``state`` to ``path`` atomically: the old file stays whole until the new one is.

    The arrays go to a temporary file in the same directory, which is flushed and fsynced,
    then renamed over ``path`` (``os.replace``); a crash or error at any point leaves the
    previous checkpoint intact, and the temporary file is removed.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write, conventionally ``*.npz``.
    state : dict
        As described in the module docstring.
    """
    path = os.fspath(path)
    arrays = _to_arrays(state)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"write_checkpoint: {path!r}: the folder {folder!r} does not "
                                f"exist")
    with replaced(path, fsync=True) as file:
        np.savez(file, allow_pickle=False, **arrays)
    _fsync_directory(folder)


def _starts_like_a_pickle(path):
    """Whether the file begins as pickle protocols 2 and later do (PROTO opcode 0x80)."""
    with open(path, "rb") as file:
        return file.read(1) == b"\x80"


def _is_an_npy_of_objects(path):
    """Whether the file is an .npy whose array holds Python objects, which need pickle."""
    with open(path, "rb") as file:
        try:
            version = np.lib.format.read_magic(file)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            return read_header(file)[2].hasobject
        except ValueError:  # not an .npy at all, or a version of it we cannot read
            return False


def read_checkpoint(path):
    """Read a checkpoint written by :func:`write_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        As described in the module docstring.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is corrupt, holds pickled data, or is not a Solver checkpoint.
    """
    where = f"read_checkpoint: {os.fspath(path)!r}"
    arrays = read_arrays(path, where)
    if arrays is None:
        raise ValueError(f"{where} holds a single array (.npy), not a Solver checkpoint")
    return _from_arrays(where, arrays)


def read_arrays(path, where):
    """The arrays of the .npz file at ``path`` as a dict, read with ``allow_pickle=False``
    (None for a single-array .npy file); ``where`` begins every error message.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is corrupt or holds pickled data.
    """
    path = os.fspath(path)
    if os.path.isdir(path):  # a run's folder, most likely: point at its checkpoints
        found = [os.path.join(path, name) for name in ("best.npz", "last.npz")
                 if os.path.isfile(os.path.join(path, name))]
        raise ValueError(f"{where} is a folder, not a checkpoint"
                         + (f": name one in it, such as {found[0]}" if found else ""))
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{where} does not exist") from None
    except ValueError:  # numpy's last guess, a pickle, refused; or an .npy of objects
        if _starts_like_a_pickle(path) or _is_an_npy_of_objects(path):
            raise ValueError(
                f"{where} is not an .npz file: numpy would have to unpickle it, and "
                f"these files are never unpickled") from None
        raise ValueError(f"{where} is not an .npz file (nor any file numpy saves)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{where} is not a readable .npz file: {error}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        return None

    arrays = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ValueError as error:
                if "allow_pickle" in str(error):
                    raise ValueError(
                        f"{where} holds a pickled object array {key!r}: these files are plain "
                        f"arrays and are never unpickled") from None
                raise ValueError(f"{where} is corrupt: array {key!r}: {error}") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                raise ValueError(f"{where} is corrupt: array {key!r}: {error}") from None
    return arrays


def save_arrays(path, arrays):
    """Write ``{name: array}`` to ``path`` as an .npz of plain arrays (never pickled),
    atomically, whatever the name's extension (numpy would add .npz to a name without it)."""
    with replaced(path) as file:
        np.savez(file, allow_pickle=False, **arrays)


def load_arrays(path, where):
    """The arrays of an .npz file :func:`save_arrays` wrote, read without pickle."""
    arrays = read_arrays(path, where)
    if arrays is None:
        raise ValueError(f"{where} holds a single array (.npy), not an .npz of named arrays")
    return arrays


def _to_arrays(state):
    """Flatten ``state`` into the file's ``{key: plain array}``, with the rest JSON in ``meta``."""
    arrays = {}
    for group in ARRAY_GROUPS:
        for name, value in state[group].items():
            arrays[f"{group}/{_key_part(name)}"] = _plain_array(f"{group}[{name!r}]", value)
    optim_scalars = {}
    for name, config in state["optim_configs"].items():
        scalars = optim_scalars[_key_part(name)] = {}
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                arrays[f"optim/{name}/{_key_part(key)}"] = _plain_array(
                    f"optim[{name!r}][{key!r}]", value)
            else:
                scalars[key] = value.item() if isinstance(value, np.generic) else value
    for name in HISTORIES:
        arrays[name] = np.asarray(state[name], dtype=np.float64)
    for name in OPTIONAL_HISTORIES:
        if state.get(name):
            arrays[name] = np.asarray(state[name], dtype=np.float64)
    meta = {"format": FORMAT, "version": VERSION, "optim_scalars": optim_scalars,
            **{key: state[key] for key in META_KEYS}}
    arrays["meta"] = np.array(json.dumps(meta, allow_nan=False))
    return arrays


def _from_arrays(where, arrays):
    """Rebuild the state dict from the file's arrays; refuse anything foreign or incomplete."""
    meta = arrays.pop("meta", None)
    if meta is None or meta.shape != () or meta.dtype.kind != "U":
        raise ValueError(f"{where} is not a Solver checkpoint (no 'meta' record)")
    try:
        meta = json.loads(str(meta[()]))
    except json.JSONDecodeError as error:
        raise ValueError(f"{where} is corrupt: its 'meta' record is not JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{where} is not a Solver checkpoint (its 'meta' names another format)")
    if meta.get("version") not in (1, VERSION):
        raise ValueError(
            f"{where} is a version {meta.get('version')!r} checkpoint; this library reads "
            f"versions 1 and {VERSION}")
    if meta["version"] == 1 and "val_acc_history" in arrays:  # no validation loss measured
        arrays.setdefault("val_loss_history", np.full(len(arrays["val_acc_history"]), np.nan))
    missing = [key for key in (*META_KEYS, "optim_scalars") if key not in meta]
    missing += [name for name in HISTORIES if name not in arrays]
    if missing:
        raise ValueError(f"{where} is corrupt: it lacks {', '.join(missing)}")

    state = {group: {} for group in ARRAY_GROUPS}
    state["optim_configs"] = {
        name: dict(scalars) for name, scalars in meta["optim_scalars"].items()}
    for name in HISTORIES + OPTIONAL_HISTORIES:
        state[name] = [float(value) for value in arrays.pop(name, ())]
    for key, value in arrays.items():
        group, _, name = key.partition("/")
        if group in ARRAY_GROUPS and name:
            state[group][name] = value
        elif group == "optim" and name.partition("/")[0] in state["optim_configs"]:
            param, _, state_key = name.partition("/")
            state["optim_configs"][param][state_key] = value
        else:
            raise ValueError(f"{where} is corrupt: unexpected array {key!r}")
    state.update({key: meta[key] for key in META_KEYS})
    return state


def _key_part(name):
    """A parameter or state name, which becomes part of a key: no '/' allowed."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(
            f"write_checkpoint: names must be non-empty strings without '/', got {name!r}")
    return name


def _plain_array(what, value):
    """``value`` as an array of numbers or bools: never an object array that would need pickle."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"write_checkpoint: {what} must be an array of numbers, got dtype {array.dtype}")
    return array


def _fsync_directory(directory):
    """Make the rename itself durable, where the platform lets a directory be fsynced."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
