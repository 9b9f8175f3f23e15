"""The `notebooks` tier: every notebook executed by papermill with the smoke preset, outputs checked."""
import pandas as pd
import pytest

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


@pytest.fixture(scope="module")
def smoke_results(smoke_batch):
    """``results/smoke/`` of the session's smoke batch (``conftest.smoke_batch``)."""
    return smoke_batch / "smoke"


def test_every_notebook_ran_and_was_saved(smoke_results):
    from paper_utils.runner import plan

    for job in plan("smoke"):
        assert (smoke_results / "executed" / f"{job.job_id}.ipynb").exists(), job.job_id
        for out in job.outputs:
            assert (smoke_results / out).exists(), out


def test_fertility_notebook_metrics(smoke_results):
    table = pd.read_csv(smoke_results / "fertility.csv")
    assert set(table.language) == {"en", "uz"} and set(table.tokenizer) == {"gpt2"}
    row = table.set_index("language")
    # gpt2 on the 8 fixture sentences: en 33 tokens / 29 words, uz 92 / 26 (measured once; a change means the tokenizer or the word rule changed)
    assert row.loc["en", "fertility"] == pytest.approx(33 / 29, rel=1e-6)
    assert row.loc["uz", "fertility"] == pytest.approx(92 / 26, rel=1e-6)
    assert row.loc["uz", "parity"] == pytest.approx(92 / 33, rel=1e-6)
    assert (smoke_results / "figures" / "fertility_heatmap.svg").exists()


def test_unknown_language_fails_that_job_with_a_clear_message_and_others_complete(tmp_path, monkeypatch):
    """A deliberately broken parameter in a real notebook: only that job fails, with the reason."""
    from paper_utils import runner

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    bad = runner.Job("02_vocabulary_expansion", ("xx",), {"preset": "smoke", "language": "xx", "model": "smollm2-135m"},
                     ("never.json",), timeout_s=300)
    good = runner.Job("01_fertility", (), {"preset": "smoke"}, ("fertility.csv",), timeout_s=600)
    monkeypatch.setattr(runner, "STAGES", [lambda p: [bad], lambda p: [good]])
    logs = []
    failed = runner.reproduce("smoke", log=logs.append)
    assert failed == [bad.job_id]
    assert (tmp_path / "smoke" / "fertility.csv").exists()
    reason = (tmp_path / "smoke" / "failures" / f"{bad.job_id}.txt").read_text()
    assert "ConfigError" in reason and "language='xx'" in reason and "use one of" in reason
    assert any(bad.job_id in line and "FAILED" in line and "language='xx'" in line for line in logs)
