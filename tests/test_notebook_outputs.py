"""Executed notebooks do not depend on where the repo lives: no absolute paths, no tqdm widget warning.

Every notebook runs with the smoke preset into a temporary results root (the session's smoke batch,
``conftest.smoke_batch``, shared with ``test_notebooks.py``);
the outputs of every executed notebook (streams, displayed tables, errors) must not contain the
repository's absolute path, the results root's absolute path, or tqdm's ``IProgress not found`` warning.
Stage 05's outputs carry the English check (issue 13): ``english_identical_share`` per task in every
``scores.json`` (translation matching and MMLU cloze included, issue 15), ``english_identical`` per item in its JSONL.
"""
import json

import nbformat
import pytest

from paper_utils.paths import REPO_ROOT

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


@pytest.fixture(scope="module")
def smoke_run(smoke_batch):
    """The results root of the session's smoke batch (``conftest.smoke_batch``)."""
    return smoke_batch


def outputs_text(path) -> str:
    """Every output of every code cell of an executed notebook, as JSON text."""
    notebook = nbformat.read(path, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"],
                      ensure_ascii=False)


def test_outputs_name_no_absolute_path_and_no_tqdm_widget_warning(smoke_run):
    executed = sorted((smoke_run / "smoke" / "executed").glob("*.ipynb"))
    assert len(executed) >= 7, [p.name for p in executed]            # every stage ran
    forbidden = {str(REPO_ROOT), str(REPO_ROOT.resolve()), str(smoke_run), str(smoke_run.resolve()), "IProgress"}
    found = {(path.name, text) for path in executed for text in forbidden if text in outputs_text(path)}
    assert not found, found
    # the whole file, papermill's metadata included (input_path, output_path), names no absolute path
    in_files = {(path.name, text) for path in executed for text in forbidden - {"IProgress"}
                if text in path.read_text(encoding="utf-8")}
    assert not in_files, in_files


def test_outputs_text_sees_streams_and_tables(tmp_path):
    """The scan reads stream text and displayed HTML (a check that cannot pass by reading nothing)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stderr", text=f"{REPO_ROOT}/x.py:21: TqdmWarning: IProgress"),
        nbformat.v4.new_output("display_data", data={"text/html": "<td>/elsewhere/results/smoke</td>"}),
    ])])
    nbformat.write(notebook, tmp_path / "n.ipynb")
    text = outputs_text(tmp_path / "n.ipynb")
    assert str(REPO_ROOT) in text and "IProgress" in text and "/elsewhere/results/smoke" in text


def test_stage05_scores_carry_the_english_identity_column(smoke_run):
    """Every evaluated run of the smoke batch checked the English it scored: a share per task, a flag per item."""
    runs = sorted((smoke_run / "smoke").glob("*/*/eval/*/scores.json"))
    assert runs, "the smoke batch evaluated no run"
    assert any(p.parent.name != "base" for p in runs), [str(p) for p in runs]     # adapted runs too
    for path in runs:
        tasks = json.loads(path.read_text(encoding="utf-8"))["tasks"]
        assert {"matching", "mmlu_cloze", "english_bpb"} <= set(tasks), (path, sorted(tasks))   # issue 15's tasks
        scored = [*tasks.get("translation", {}).values(), *tasks.get("matching", {}).values(), tasks.get("mmlu", {}),
                  tasks.get("mmlu_cloze", {}), tasks["english_bpb"], *tasks["english_bpb"]["by_source"].values()]
        if "accuracy" in tasks.get("classification", {}):
            scored.append(tasks["classification"])
        for s in scored:
            share = s["english_identical_share"]
            assert 0.0 <= share <= 1.0, (path, s)
            if path.parent.name == "base":
                assert share == 1.0, path                     # the base model with its own tokenizer
        assert tasks["bpb"]["english_identical_share"] is None     # held-out target text: no English
        per_file = {f"translation_{d}.jsonl": s for d, s in tasks.get("translation", {}).items()}
        per_file.update({f"matching_{d}.jsonl": s for d, s in tasks.get("matching", {}).items()})
        per_file.update({"mmlu.jsonl": tasks.get("mmlu"), "classification.jsonl": tasks.get("classification"),
                         "mmlu_cloze.jsonl": tasks.get("mmlu_cloze"), "english_bpb.jsonl": tasks.get("english_bpb")})
        for records in sorted(path.parent.glob("*.jsonl")):
            if records.name == "bpb.jsonl":
                continue
            rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines() if line]
            assert all(isinstance(r["english_identical"], bool) for r in rows), records
            assert all(bool(r["english_changed"]) != r["english_identical"] for r in rows), records
            share = sum(r["english_identical"] for r in rows) / len(rows)
            assert per_file[records.name]["english_identical_share"] == share, records


def test_embedding_lr_probe_scores_dev_documents_on_the_smoke_outputs(smoke_run, tmp_path, monkeypatch):
    """benchmarks/embedding_lr_probe.py reads stage 02-03 outputs (never rebuilds them) and scores the dev text."""
    import importlib.util

    from paper_utils.config import load_preset
    from paper_utils.study import data_source

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(smoke_run))
    spec = importlib.util.spec_from_file_location("probe", REPO_ROOT / "benchmarks" / "embedding_lr_probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    report = probe.main(["--preset", "smoke", "--language", "uz", "--model", "smollm2-135m", "--lrs", "1e-2", "1e-4",
                         "--steps", "2", "--eval-every", "1", "--dev-documents", "3", "--out", str(tmp_path / "runs"),
                         "--json", str(tmp_path / "probe.json")])
    assert report["dev_documents"] == 3 == len(data_source(load_preset("smoke")).step0_dev_text("uz")[:3])
    first, second = report["runs"]["0.01"]["dev_bpb"], report["runs"]["0.0001"]["dev_bpb"]
    assert sorted(first) == [0, 1, 2] and first[0] == second[0]        # the same start, scored at every step
    assert first[2] != second[2]                                      # the rate changed the rows
    assert json.loads((tmp_path / "probe.json").read_text())["runs"].keys() == {"0.01", "0.0001"}
