"""Data loading: local splits, malformed rows, missing splits, GSM8K answers, missing extras,
and the code sandbox's refusal to run without its seccomp filter."""

from __future__ import annotations

import json
import sys
import warnings

import pytest

from prolong.core import MissingExtraError, ProlongError, require_extra
from prolong.data import holdout_split_of, load_problems
from prolong.envs.math.load import load_math_problems, math_record
from prolong.envs.stem.load import load_stem_problems


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


ROWS = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(200)]


# ---- splits of a local file ------------------------------------------------------------
def test_local_validation_without_holdout_is_an_error(tmp_path):
    src = write_jsonl(tmp_path / "m.jsonl", ROWS[:5])
    assert len(load_math_problems(src)) == 5  # train: every row
    with pytest.raises(ProlongError, match=r"m\.jsonl.*no splits.*holdout"):
        load_math_problems(src, split="validation")
    with pytest.raises(ProlongError, match=r"no split 'test'.*available"):
        load_math_problems(src, split="test")


def test_holdout_gives_disjoint_deterministic_splits(tmp_path):
    src = write_jsonl(tmp_path / "m.jsonl", ROWS)
    train = load_math_problems(src, holdout=0.2)
    val = load_math_problems(src, split="validation", holdout=0.2)
    train_q = {p.metadata["question"] for p in train.problems}
    val_q = {p.metadata["question"] for p in val.problems}
    assert train_q and val_q and not (train_q & val_q)
    assert len(train_q) + len(val_q) == len(ROWS)
    assert 15 <= len(val_q) <= 70  # about 20%
    # independent of file order
    src2 = write_jsonl(tmp_path / "rev.jsonl", ROWS[::-1])
    assert {p.metadata["question"] for p in load_math_problems(src2, split="validation", holdout=0.2).problems} == val_q
    assert all(holdout_split_of(r, 0.2) == ("validation" if r["problem"] in val_q else "train") for r in ROWS)
    with pytest.raises(ProlongError, match="holdout"):
        load_math_problems(src, holdout=1.5)


def test_stem_loader_takes_holdout(tmp_path):
    rows = [{"question": f"How many legs have {i} cats?", "answer": str(4 * i)} for i in range(1, 60)]
    src = write_jsonl(tmp_path / "s.jsonl", rows)
    with pytest.raises(ProlongError, match="holdout"):
        load_stem_problems(src, split="validation")
    a = {p.prompt for p in load_stem_problems(src, holdout=0.3).problems}
    b = {p.prompt for p in load_stem_problems(src, split="validation", holdout=0.3).problems}
    assert a and b and not (a & b) and len(a) + len(b) == len(rows)


# ---- malformed rows --------------------------------------------------------------------
def test_malformed_row_raises_naming_file_and_line(tmp_path):
    src = write_jsonl(tmp_path / "bad.jsonl", [ROWS[0], "{not json", ROWS[1]])
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not valid JSON"):
        load_math_problems(src)
    src = write_jsonl(tmp_path / "nofield.jsonl", [ROWS[0], ROWS[1], {"problem": "x?"}])
    with pytest.raises(ValueError, match=r"nofield\.jsonl:3: .*answer"):
        load_math_problems(src)


def test_on_error_skip_counts_and_warns(tmp_path):
    src = write_jsonl(tmp_path / "bad.jsonl", [ROWS[0], "{not json", ROWS[1], {"problem": "x?"}, "[1, 2]", ROWS[2]])
    with pytest.warns(RuntimeWarning, match=r"skipped 3 malformed rows") as rec:
        probs = load_math_problems(src, on_error="skip")
    assert len(probs) == 3
    assert "bad.jsonl:2" in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_math_problems(write_jsonl(tmp_path / "ok.jsonl", ROWS[:3]), on_error="skip")) == 3
    with pytest.raises(ProlongError, match="on_error"):
        load_math_problems(src, on_error="ignore")


def test_converter_crash_is_named_with_its_location(tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"prompt": "p", "answer": "a"}, {"prompt": "q", "answer": "b"}])

    def convert(rec, loc):
        if rec["prompt"] == "q":
            raise TypeError("boom")
        return rec

    with pytest.raises(ValueError, match=r"c\.jsonl:2: TypeError: boom"):
        load_problems(src, domain="math", convert=convert)
    with pytest.warns(RuntimeWarning, match="skipped 1 malformed row"):
        assert len(load_problems(src, domain="math", convert=convert, on_error="skip")) == 1


# ---- missing splits of datasets --------------------------------------------------------
def test_saved_datasetdict_missing_split_names_available(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS[:3]), "test": datasets.Dataset.from_list(ROWS[3:5])}).save_to_disk(str(path))
    assert len(load_math_problems(str(path), split="test")) == 2
    with pytest.raises(ProlongError, match=r"no split 'validation'; available: 'train', 'test'"):
        load_math_problems(str(path), split="validation")


def test_data_folder_missing_split_names_available(tmp_path):
    pytest.importorskip("datasets")
    folder = tmp_path / "folder"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", ROWS[:3])
    write_jsonl(folder / "test.jsonl", ROWS[3:4])
    assert len(load_math_problems(str(folder), split="test")) == 1
    with pytest.raises(ProlongError, match=r"no split 'validation'.*'train'.*'test'|no split 'validation'.*train.*test"):
        load_math_problems(str(folder), split="validation")


# ---- GSM8K -----------------------------------------------------------------------------
def test_gsm8k_answers_are_read(tmp_path):
    rows = [
        {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
         "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\nIn all 48+24 = <<48+24=72>>72.\n#### 72"},
        {"question": "A big number?", "answer": "It is 1,200.\n#### 1,200"},
    ]
    probs = load_math_problems(write_jsonl(tmp_path / "gsm8k.jsonl", rows))
    assert [p.answer for p in probs.problems] == ["72", "1200"]
    with pytest.raises(ValueError, match=r"nothing after its '####'"):
        math_record({"question": "q", "answer": "text ####  "}, "row 0")


# ---- missing extras --------------------------------------------------------------------
def test_missing_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "langdetect", None)  # import of it now fails
    with pytest.raises(MissingExtraError, match=r"pip install 'prolong\[domains\]'") as e:
        require_extra("langdetect", "IFEval's language instruction")
    assert isinstance(e.value, ImportError) and isinstance(e.value, ProlongError)
    assert "\n" not in str(e.value)


# ---- the code sandbox without seccomp --------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux only")
def test_sandbox_refuses_without_seccomp_unless_opted_in(monkeypatch):
    from prolong.envs.code import sandbox as sb

    monkeypatch.setattr(sb, "child_seccomp_filter", lambda: None)
    monkeypatch.delenv("PROLONG_ALLOW_NO_SECCOMP", raising=False)
    pool = sb.SandboxPool(sb.UNSAFE, processes=1)
    try:
        with pytest.raises(sb.SandboxUnavailableError, match=r"seccomp.*prolong\[domains\].*PROLONG_ALLOW_NO_SECCOMP=1"):
            pool._check()
        assert not pool._checked
        monkeypatch.setenv("PROLONG_ALLOW_NO_SECCOMP", "1")
        with pytest.warns(RuntimeWarning, match="without a seccomp filter"):
            pool._check()
        assert pool._checked and pool.bpf is None
        monkeypatch.delenv("PROLONG_ALLOW_NO_SECCOMP")
        pool2 = sb.SandboxPool(sb.UNSAFE, processes=1)
        pool2.allow_no_seccomp = True
        try:
            with pytest.warns(RuntimeWarning):
                pool2._check()
            assert pool2._checked
        finally:
            pool2.close()
    finally:
        pool.close()


def test_the_trainer_says_when_a_local_file_has_no_validation_split(tmp_path, capsys):
    pytest.importorskip("torch")
    from prolong.trainer.config import TrainConfig
    from prolong.trainer.loop import make_envs

    path = tmp_path / "train.jsonl"
    path.write_text('{"problem": "What is 1+1?", "answer": "2"}\n{"problem": "What is 2+2?", "answer": "4"}\n')
    cfg = TrainConfig(envs=["prolong/math-v0"], env_kwargs={"prolong/math-v0": {"source": str(path)}})
    tasks = make_envs(cfg, split="validation")
    assert "prolong/math-v0" in tasks
    out = capsys.readouterr().out
    assert "no splits" in out and "not held out" in out
