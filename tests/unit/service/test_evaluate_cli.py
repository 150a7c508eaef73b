"""`driftsnap evaluate`: in-process via service.cli.main and as the installed console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest

from evaluation import Snapshot
from service.cli import main

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(sys.executable).parent / "driftsnap"


def _frame(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.normal(shift, 1.0, n),
            "country": rng.choice(["DE", "FR", "US"], n),
            "target": rng.integers(0, 2, n),
            "prediction": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.parquet"
    _frame(300, 1).write_csv(ref)
    _frame(200, 2, shift=0.8).write_parquet(cur)
    return {"ref": ref, "cur": cur, "dir": tmp_path}


def _args(files, *extra: str) -> list[str]:
    return ["evaluate", "--reference", str(files["ref"]), "--current", str(files["cur"]), *extra]


def test_writes_snapshot_to_output_file(files):
    out = files["dir"] / "snap.json"
    code = main(
        _args(
            files,
            "--output", str(out),
            "--tag", "ci", "--tag", "nightly",
            "--metadata", "model_id=fraud", "--metadata", "run=7",
            "--timestamp", "2026-12-03T10:00:00Z",
        )
    )  # fmt: skip
    assert code == 0
    snap = Snapshot.load(out)
    assert snap.tags == ["ci", "nightly"]
    assert snap.metadata["model_id"] == "fraud"
    assert snap.metadata["run"] == "7"
    assert snap.metadata["batch_size"] == 200
    assert snap.timestamp.isoformat() == "2026-12-03T10:00:00+00:00"
    assert {m.type for m in snap.metrics} == {"data_drift", "data_quality", "model_quality"}


def test_writes_to_stdout_with_flags_and_same_inputs_give_same_id(files, capsysbinary):
    args = _args(files, "--columns", "amount", "--stattest", "psi", "--threshold", "0.2",
                 "--drift-share", "0.4", "--timestamp", "2026-12-03T10:00:00Z")  # fmt: skip
    assert main(args) == 0
    first = orjson.loads(capsysbinary.readouterr().out)
    drift = next(m for m in first["metrics"] if m["type"] == "data_drift")["result"]
    assert drift["drift_share"] == 0.4
    assert drift["columns"]["amount"]["stattest"] == "psi"
    assert drift["columns"]["amount"]["stattest_threshold"] == 0.2
    assert "country" not in drift["columns"]
    assert main(args) == 0
    assert orjson.loads(capsysbinary.readouterr().out)["id"] == first["id"]


def test_config_file_sets_schema_presets_and_params(files, capsysbinary):
    cfg = files["dir"] / "cfg.yaml"
    cfg.write_text(
        "categorical: [target]\n"
        "drift:\n  per_column_stattest: {amount: ks}\n"
        "presets: [data_drift]\n"
        "preset_params:\n  data_drift: {max_share_drifted: 0.9}\n"
        "project_id: fraud\nname: nightly\ntags: [cfg]\n"
    )
    assert main(_args(files, "--config", str(cfg), "--tag", "cli")) == 0
    snap = orjson.loads(capsysbinary.readouterr().out)
    assert snap["project_id"] == "fraud"
    assert snap["tags"] == ["cfg", "cli"]
    assert {t["name"].split(".")[0] for t in snap["tests"]} == {"data_drift"}
    share = next(t for t in snap["tests"] if t["name"] == "data_drift.share_of_drifted_columns")
    assert share["condition"]["value"] == 0.9


def test_csv_empty_cells_are_missing(tmp_path, capsysbinary):
    ref = tmp_path / "ref.csv"
    ref.write_text("amount,country\n1.0,DE\n2.0,\n3.0,FR\n")
    cur = tmp_path / "cur.csv"
    cur.write_text("amount,country\n,DE\n2.5,FR\n,\n")
    args = ["evaluate", "--reference", str(ref), "--current", str(cur)]
    assert main([*args, "--timestamp", "2026-01-01T00:00:00Z"]) == 0
    snap = orjson.loads(capsysbinary.readouterr().out)
    cols = next(m for m in snap["metrics"] if m["type"] == "data_quality")["result"]["columns"]
    assert cols["amount"]["number_of_missing"] == 2
    assert cols["country"]["number_of_missing"] == 1


BAD = [
    # (extra args, file setup, message fragment, reason)
    (["--columns", "amount,nope"], None, "'nope'", "unknown column"),
    (["--stattest", "magic"], None, "unknown drift method 'magic'", "unknown method"),
    ([], "missing_current", "no such file", "current file missing"),
    ([], "garbage_current", "not a readable", "unreadable file"),
    (["--config", "{dir}/bad.yaml"], "bad_config", "unknown key 'stattests'", "config typo"),
    (["--config", "{dir}/notyaml.yaml"], "not_yaml", "not valid YAML", "config syntax"),
    (["--metadata", "novalue"], None, "expected KEY=VALUE", "bad metadata"),
    (["--timestamp", "yesterday"], None, "not ISO-8601", "bad timestamp"),
    (["--drift-share", "2"], None, "drift_share=2.0", "share out of range"),
]


def _setup(files, kind):
    d = files["dir"]
    if kind == "missing_current":
        files["cur"].unlink()
    elif kind == "garbage_current":
        files["cur"].write_bytes(b"PAR1\x00garbage")
    elif kind == "bad_config":
        (d / "bad.yaml").write_text("drift:\n  stattest: psi\nstattests: 1\n")
    elif kind == "not_yaml":
        (d / "notyaml.yaml").write_text("drift: [unclosed\n")


@pytest.mark.parametrize(
    ("extra", "setup", "fragment"), [b[:3] for b in BAD], ids=[b[3] for b in BAD]
)
def test_bad_input_exits_2_with_a_clear_message(files, capsys, extra, setup, fragment):
    _setup(files, setup)
    extra = [e.format(dir=files["dir"]) for e in extra]
    assert main(_args(files, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("driftsnap evaluate: error: ")
    assert fragment in err
    assert "Traceback" not in err


def test_text_in_numeric_reference_column_is_rejected(tmp_path, capsys):
    ref, cur = tmp_path / "r.csv", tmp_path / "c.csv"
    ref.write_text("amount\n1\n2\n")
    cur.write_text("amount\n1\nabc\n")
    assert main(["evaluate", "--reference", str(ref), "--current", str(cur)]) == 2
    assert "is numeric" in capsys.readouterr().err


def test_console_script_success_and_bad_input(files):
    assert SCRIPT.exists(), SCRIPT
    ok = subprocess.run(
        [str(SCRIPT), *_args(files, "--timestamp", "2026-12-03T10:00:00Z")],
        capture_output=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert Snapshot.from_json(ok.stdout).metadata["batch_size"] == 200
    bad = subprocess.run(
        [str(SCRIPT), *_args(files, "--columns", "nope")],
        capture_output=True, cwd=ROOT, timeout=60, check=False, text=True,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "nope" in bad.stderr


@pytest.mark.parametrize(
    ("extra", "setup", "fragment"),
    [
        b[:3]
        for b in BAD
        if b[3] in {"unknown column", "unknown method", "unreadable file", "config typo"}
    ],
    ids=["unknown column", "unknown method", "unreadable file", "config typo"],
)
def test_console_script_exit_2_cases(files, extra, setup, fragment):
    _setup(files, setup)
    extra = [e.format(dir=files["dir"]) for e in extra]
    out = subprocess.run(
        [str(SCRIPT), *_args(files, *extra)],
        capture_output=True, cwd=ROOT, timeout=60, check=False, text=True,
    )  # fmt: skip
    assert out.returncode == 2
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr
