"""Loading problems from JSONL, JSON, Parquet files or Hugging Face datasets, with field maps.

Every domain's loader goes through :func:`load_problems`: it reads records, renames
fields with a field map, hands each record to the domain's converter, and names the
file and line (or dataset row) of any record it cannot use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from prolong.core import ListProblems, Problem, coerce_problem

__all__ = ["iter_records", "load_problems", "apply_field_map", "FieldMap", "is_local_source"]

# target field -> source column name, dotted path ("reward_model.ground_truth"), or callable(record) -> value
FieldMap = Mapping[str, "str | Callable[[Mapping[str, Any]], Any]"]

_FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".pq", ".jsonl.gz")


def is_local_source(source: str | os.PathLike[str]) -> bool:
    s = str(source)
    return s.endswith(_FILE_SUFFIXES) or os.path.exists(s)


def iter_records(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    split: str = "train",
    config: str | None = None,
    limit: int | None = None,
    **load_kwargs: Any,
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(location, record)`` from a local file, a list of dicts, or a HF dataset.

    ``location`` is ``"file.jsonl:17"`` (1-based line), ``"file.parquet row 3"``,
    ``"dataset[split] row 3"``: what an error message should name.
    """
    count = 0

    def done() -> bool:
        return limit is not None and count >= limit

    if isinstance(source, (list, tuple)):
        for i, rec in enumerate(source):
            if done():
                return
            if not isinstance(rec, Mapping):
                raise ValueError(f"record {i}: expected a dict, got {type(rec).__name__}")
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
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
                if not isinstance(rec, Mapping):
                    raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
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
                raise ValueError(f"{path} item {i}: expected a JSON object, got {type(rec).__name__}")
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
            count += 1
            yield f"{path} row {i}", rec
        return
    if path.exists() and path.is_dir():
        # a dataset saved with Dataset.save_to_disk, or a folder of data files
        import datasets

        try:
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split]
        except FileNotFoundError:
            ds = datasets.load_dataset(str(path), config, split=split, **load_kwargs)
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
    """
    problems: list[Problem] = []
    label = name or str(source if not isinstance(source, (list, tuple)) else f"{domain} records")
    for location, rec in iter_records(source, split=split, config=config, limit=limit, **load_kwargs):
        rec = apply_field_map(rec, fields, location)
        made = convert(rec, location) if convert else rec
        if made is None:
            continue
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
            made.setdefault("id", f"{label}/{len(problems)}")
        problems.append(coerce_problem(made, domain=domain, default_id=f"{label}/{len(problems)}"))
    if not problems:
        raise ValueError(f"{label}: no usable problems found")
    return ListProblems(problems, domain=domain, name=label)
