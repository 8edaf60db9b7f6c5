"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)
    assert len(blocks) >= 4, "the README's tour lost its examples"
    monkeypatch.chdir(tmp_path)  # the training example writes checkpoints under runs/
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # the lecture's (x + y) z
    assert (namespace["f"], namespace["dx"], namespace["dy"], namespace["dz"]) == (-12, -4, -4, 3)
    for block in blocks[1:]:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["report"].ok
    assert namespace["bad"]["b"].diagnosis == "scale"
    namespace["test_softplus_gradients"]()  # the README's pytest test of a user's own layer
    assert namespace["solver"].best_val_acc > 0.9


def test_readme_run_toml_trains_as_solver_train_config(tmp_path, capsys):
    import json
    import tomllib

    from solver.cli import main

    (block,) = re.findall(r"^```toml\n(# run\.toml.*?)^```", README.read_text(), re.M | re.S)
    path = tmp_path / "run.toml"
    path.write_text(block)
    status = main(["train", "--config", str(path), "--epochs", "1", "--out",
                   str(tmp_path / "run"), "--quiet"])
    assert status == 0, capsys.readouterr().err
    settings = json.loads((tmp_path / "run" / "history.json").read_text())["settings"]
    expected = {**tomllib.loads(block), "epochs": 1}
    assert {key: settings[key] for key in expected} == expected
