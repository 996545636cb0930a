"""Loading problems from JSONL, JSON, Parquet files or Hugging Face datasets, with field maps.

Every domain's loader goes through :func:`load_problems`: it reads records, renames
fields with a field map, hands each record to the domain's converter, and names the
file and line (or dataset row) of any record it cannot use.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prolong.core import ListProblems, Problem, ProlongError, coerce_problem

__all__ = [
    "iter_records",
    "load_problems",
    "apply_field_map",
    "FieldMap",
    "is_local_source",
    "holdout_split_of",
    "RowArg",
    "row_number",
    "row_choice",
    "row_flag",
    "ROW_MAX_TEXT",
]

# target field -> source column name, dotted path ("reward_model.ground_truth"), or callable(record) -> value
FieldMap = Mapping[str, "str | Callable[[Mapping[str, Any]], Any]"]

_FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".pq", ".jsonl.gz")


# --------------------------------------------------------------------------- env arguments in rows

#: The longest text value an env argument may have in a data row.
ROW_MAX_TEXT = 200


@dataclass(frozen=True)
class RowArg:
    """An env argument that data rows may carry beyond the default rule (JSON scalars
    the constructor names; see :func:`prolong.scoring.row_env_kwargs`).

    An env class declares them in ``row_kwargs = {name: RowArg, ...}``: arguments that
    reach the env through ``**kwargs`` (the code env's verifier arguments) or that are
    not scalars (the mixture's ``envs``). Rows are untrusted, so ``check`` validates a
    value read from a row and returns it (raising ``ValueError``/``TypeError`` with what
    is wrong); ``carry`` (default ``check``) turns the value an env was made with into the
    value a row made by ``make_dataset`` / ``prolong export`` carries.
    """

    check: Callable[[Any], Any]
    carry: Callable[[Any], Any] | None = None
    doc: str = ""

    def carried(self, value: Any) -> Any:
        return (self.carry or self.check)(value)


def row_number(lo: float, hi: float, *, integer: bool = False, optional: bool = False, doc: str = "") -> RowArg:
    """A number in ``[lo, hi]`` (an int with ``integer=True``; ``None`` too with ``optional``)."""
    kind = "an integer" if integer else "a number"

    def check(v: Any) -> Any:
        if v is None and optional:
            return None
        ok = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or v != v or not lo <= v <= hi:
            raise ValueError(f"must be {kind} in [{lo:g}, {hi:g}]{' or null' if optional else ''}, got {v!r}"[:200])
        return v

    return RowArg(check, doc=doc)


def row_choice(*choices: str, doc: str = "") -> RowArg:
    """One of the strings ``choices``."""

    def check(v: Any) -> Any:
        if not isinstance(v, str) or v not in choices:
            raise ValueError(f"must be one of {', '.join(map(repr, choices))}, got {str(v)[:60]!r}")
        return v

    return RowArg(check, doc=doc)


def row_flag(doc: str = "") -> RowArg:
    """``true`` or ``false``."""

    def check(v: Any) -> Any:
        if not isinstance(v, bool):
            raise ValueError(f"must be true or false, got {str(v)[:60]!r}")
        return v

    return RowArg(check, doc=doc)


def is_local_source(source: str | os.PathLike[str]) -> bool:
    s = str(source)
    return s.endswith(_FILE_SUFFIXES) or os.path.exists(s)


_LOCAL_SPLITS = ("train", "validation", "all")


def holdout_split_of(rec: Mapping[str, Any], holdout: float) -> str:
    """``"validation"`` or ``"train"`` for one record of a local file: a stable hash of the
    record's content (canonical JSON), so the split does not depend on file order and two
    identical rows always land on the same side."""
    blob = json.dumps(rec, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    h = int.from_bytes(hashlib.sha256(b"prolong-holdout\0" + blob).digest()[:8], "big")
    return "validation" if h / 2**64 < holdout else "train"


def _check_local_split(path: str, split: str, holdout: float | None) -> None:
    if holdout is not None and not 0.0 < float(holdout) < 1.0:
        raise ProlongError(f"holdout must be a fraction between 0 and 1 (exclusive), got {holdout!r}")
    if split in _LOCAL_SPLITS and (holdout is not None or split != "validation"):
        return
    if split == "validation":
        raise ProlongError(
            f"{path} is one source with no splits, so split='validation' would be the training set. "
            "Pass holdout=0.1 (a deterministic hash holdout: 'train' and 'validation' then never share a row), "
            "or load a separate validation file with split='train'"
        )
    raise ProlongError(
        f"{path} is one source with no split {split!r}; available: 'train' (every row, or the rows outside "
        "the holdout when holdout= is given), 'validation' (with holdout=) and 'all' (every row)"
    )


def _pick_split(ds: Any, split: str, where: str) -> Any:
    """``ds[split]`` of a DatasetDict, or an error naming the splits it has."""
    try:
        return ds[split]
    except KeyError:
        raise ProlongError(f"{where} has no split {split!r}; available: {', '.join(map(repr, ds))}") from None


def _split_error(e: Exception, source: str, split: str, config: str | None) -> ProlongError | None:
    """A one-line error naming the available splits, when ``e`` is datasets' unknown-split error."""
    msg = str(e)
    if "split" not in msg.lower() or not isinstance(e, (ValueError, KeyError)):
        return None
    names: list[str] = []
    try:
        import datasets

        names = list(datasets.get_dataset_split_names(source, config))
    except Exception:  # noqa: BLE001 - offline, or not a hub dataset: fall back on datasets' message
        pass
    avail = ", ".join(map(repr, names)) if names else msg
    return ProlongError(f"{source} has no split {split!r}; available: {avail}")


def iter_records(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    split: str = "train",
    config: str | None = None,
    limit: int | None = None,
    holdout: float | None = None,
    on_error: str = "raise",
    skipped: list[str] | None = None,
    **load_kwargs: Any,
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(location, record)`` from a local file, a list of dicts, or a HF dataset.

    ``location`` is ``"file.jsonl:17"`` (1-based line), ``"file.parquet row 3"``,
    ``"dataset[split] row 3"``: what an error message should name.

    Splits of a local file (.jsonl/.json/.parquet) or a list of dicts: such a source has no
    splits of its own. ``split="train"`` (the default) and ``"all"`` give every row.
    ``holdout=f`` (0 < f < 1) holds out a deterministic fraction ``f`` of the rows, chosen
    by a SHA-256 hash of each row's content (:func:`holdout_split_of`): ``split="validation"``
    gives those rows and ``split="train"`` the others, so train and validation never share
    a row, whatever the file order. Without ``holdout``, ``split="validation"`` (or any
    other split) is an error rather than silently the training set. A saved ``DatasetDict``
    folder or a Hugging Face dataset uses its own splits; a missing one is an error
    naming those it has.

    ``on_error="skip"`` skips a row that is not valid JSON / not an object (its message
    is appended to ``skipped``) instead of raising.
    """
    if on_error not in ("raise", "skip"):
        raise ProlongError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    count = 0
    local = isinstance(source, (list, tuple)) or (
        Path(os.fspath(source)).suffix in (".jsonl", ".gz", ".json", ".parquet", ".pq")
    )
    if local:
        where = "the list of records" if isinstance(source, (list, tuple)) else str(os.fspath(source))
        _check_local_split(where, split, holdout)

    def done() -> bool:
        return limit is not None and count >= limit

    def wanted(rec: Mapping[str, Any]) -> bool:
        if not local or holdout is None or split == "all":
            return True
        return holdout_split_of(rec, holdout) == split

    def bad(message: str) -> None:
        if on_error == "raise":
            raise ProlongError(message)
        if skipped is not None:
            skipped.append(message)

    if isinstance(source, (list, tuple)):
        for i, rec in enumerate(source):
            if done():
                return
            if not isinstance(rec, Mapping):
                bad(f"record {i}: expected a dict, got {type(rec).__name__}")
                continue
            if not wanted(rec):
                continue
            count += 1
            yield f"record {i}", rec
        return
    path = Path(os.fspath(source))
    if path.suffix in (".jsonl", ".gz") or str(path).endswith(".jsonl.gz"):
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        opener = open
        if str(path).endswith(".gz"):
            import gzip

            opener = gzip.open  # type: ignore[assignment]
        with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
            for lineno, line in enumerate(f, 1):
                if done():
                    return
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    bad(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno})")
                    continue
                if not isinstance(rec, Mapping):
                    bad(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
                    continue
                if not wanted(rec):
                    continue
                count += 1
                yield f"{path}:{lineno}", rec
        return
    if path.suffix == ".json":
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
        if isinstance(data, Mapping):  # {"data": [...]} or column-oriented
            data = data.get("data", data.get("rows", data))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of objects")
        for i, rec in enumerate(data):
            if done():
                return
            if not isinstance(rec, Mapping):
                bad(f"{path} item {i}: expected a JSON object, got {type(rec).__name__}")
                continue
            if not wanted(rec):
                continue
            count += 1
            yield f"{path} item {i}", rec
        return
    if path.suffix in (".parquet", ".pq"):
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for i, rec in enumerate(table.to_pylist()):
            if done():
                return
            if not wanted(rec):
                continue
            count += 1
            yield f"{path} row {i}", rec
        return
    if path.exists() and path.is_dir():
        # a dataset saved with Dataset.save_to_disk, or a folder of data files
        import datasets

        try:
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = _pick_split(ds, split, str(path))
            elif split not in ("train", "all"):
                raise ProlongError(
                    f"{path} is one saved Dataset with no splits; available: 'train' (every row), not {split!r}"
                )
        except FileNotFoundError:
            try:
                ds = datasets.load_dataset(str(path), config, split=split, **load_kwargs)
            except (ValueError, KeyError) as e:
                err = _split_error(e, str(path), split, config)
                if err is None:
                    raise
                raise err from None
        for i, rec in enumerate(ds):
            if done():
                return
            count += 1
            yield f"{path}[{split}] row {i}", rec
        return
    # a Hugging Face dataset name
    import datasets

    try:
        ds = datasets.load_dataset(str(source), config, split=split, **load_kwargs)
    except Exception as e:
        err = _split_error(e, str(source), split, config)
        if err is not None:
            raise err from None
        raise ValueError(
            f"could not load {source!r}: not a local .jsonl/.json/.parquet file and not a loadable "
            f"Hugging Face dataset ({type(e).__name__}: {e})"
        ) from e
    for i, rec in enumerate(ds):
        if done():
            return
        count += 1
        yield f"{source}[{split}] row {i}", rec


def _get_path(rec: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = rec
    for part in dotted.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(dotted)
    return cur


def apply_field_map(rec: Mapping[str, Any], fields: FieldMap | None, location: str) -> dict[str, Any]:
    """A copy of ``rec`` with the mapped fields added under their target names.

    A source name may be a column, a dotted path into nested dicts, or a callable.
    """
    out = dict(rec)
    for target, src in (fields or {}).items():
        if callable(src):
            try:
                out[target] = src(rec)
            except Exception as e:
                raise ValueError(f"{location}: field map for {target!r} failed: {type(e).__name__}: {e}") from e
            continue
        try:
            out[target] = _get_path(rec, src)
        except KeyError:
            present = ", ".join(sorted(map(str, rec))[:20])
            raise ValueError(f"{location}: no field {src!r} (mapped to {target!r}); fields present: {present}") from None
    return out


def load_problems(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    domain: str,
    convert: Callable[[Mapping[str, Any], str], Problem | Mapping[str, Any] | None] | None = None,
    fields: FieldMap | None = None,
    split: str = "train",
    config: str | None = None,
    limit: int | None = None,
    name: str | None = None,
    holdout: float | None = None,
    on_error: str = "raise",
    **load_kwargs: Any,
) -> ListProblems:
    """Problems from a file or dataset.

    Args:
        source: path of a .jsonl / .json / .parquet file, a folder saved by ``datasets``,
            a list of dicts, or a Hugging Face dataset name.
        domain: the domain the problems belong to.
        convert: ``convert(record, location)`` returns a Problem, a ``{"prompt", "answer",
            ...}`` dict, or None to skip the record; it should raise ValueError naming
            ``location`` for a record it cannot use. Default: the record itself (after
            the field map) must have ``prompt`` and ``answer``.
        fields: a field map applied before ``convert``: ``{"prompt": "problem"}``.
        split: for a local file or a list of dicts, ``"train"`` / ``"all"`` (every row), or
            with ``holdout`` a disjoint hash-based train/validation split; other splits
            of a local source are an error (see :func:`iter_records`). For a saved
            ``DatasetDict`` or a Hugging Face dataset, its split (a missing one is an
            error naming the available ones).
        holdout: the fraction of a local source's rows held out as ``split="validation"``,
            chosen by a stable hash of each row's content (:func:`holdout_split_of`), so
            ``"train"`` and ``"validation"`` never share a row.
        on_error: ``"raise"`` (default): a malformed row (not JSON, a missing field, a
            record the converter rejects) raises ``ValueError`` naming the file and its
            line / row and what is wrong. ``"skip"``: such rows are skipped, and one
            ``RuntimeWarning`` says how many (with the first few reasons).
    """
    if on_error not in ("raise", "skip"):
        raise ProlongError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    problems: list[Problem] = []
    skipped: list[str] = []
    label = name or str(source if not isinstance(source, (list, tuple)) else f"{domain} records")
    records = iter_records(
        source, split=split, config=config, limit=limit, holdout=holdout, on_error=on_error, skipped=skipped, **load_kwargs
    )
    for location, rec in records:
        try:
            problem = _make_problem(rec, location, domain, convert, fields, label, len(problems))
        except Exception as e:  # noqa: BLE001 - reported with its location, or counted
            if on_error == "raise":
                if isinstance(e, ValueError) and location in str(e):
                    raise
                raise ProlongError(f"{location}: {type(e).__name__}: {e}") from e
            skipped.append(str(e) if location in str(e) else f"{location}: {type(e).__name__}: {e}")
            continue
        if problem is not None:
            problems.append(problem)
    if skipped:
        shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        warnings.warn(
            f"{label}: skipped {len(skipped)} malformed row{'s' if len(skipped) != 1 else ''} "
            f"(on_error='skip'): {shown}",
            RuntimeWarning,
            stacklevel=2,
        )
    if not problems:
        extra = f" ({len(skipped)} malformed rows skipped)" if skipped else ""
        raise ValueError(f"{label}: no usable problems found{extra}")
    return ListProblems(problems, domain=domain, name=label)


def _make_problem(
    rec: Mapping[str, Any],
    location: str,
    domain: str,
    convert: Callable[[Mapping[str, Any], str], Problem | Mapping[str, Any] | None] | None,
    fields: FieldMap | None,
    label: str,
    index: int,
) -> Problem | None:
    rec = apply_field_map(rec, fields, location)
    made = convert(rec, location) if convert else rec
    if made is None:
        return None
    if isinstance(made, Mapping):
        missing = [k for k in ("prompt", "answer") if made.get(k) is None]
        if missing:
            raise ValueError(
                f"{location}: no {' or '.join(repr(m) for m in missing)} field; give a field map, "
                f"e.g. fields={{'prompt': 'question'}} (fields present: {', '.join(sorted(map(str, rec))[:20])})"
            )
        made = dict(made)
        md = dict(made.get("metadata") or {})
        md.setdefault("source", location)
        made["metadata"] = md
        made.setdefault("id", f"{label}/{index}")
    return coerce_problem(made, domain=domain, default_id=f"{label}/{index}")
