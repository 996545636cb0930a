"""reasoning-gym datasets: task specs, the process-wide dataset cache, JSON-safe entries.

reasoning-gym builds a dataset object per ``(name, config)``; some builds take
seconds (``acre`` generates its whole dataset up front, ``arc_agi`` and
``group_anagrams`` load data files), so every object is built once per process and
reused by every env instance, reset and verifier call that asks for the same
``(name, config, seed, size)``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import difflib
import enum
import functools
import io
import json
import math
import re
import threading
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prolong.envs.reasoning_gym import safety

__all__ = [
    "TaskSpec",
    "parse_tasks",
    "list_tasks",
    "get_dataset",
    "get_scorer_dataset",
    "config_key",
    "check_config",
    "json_safe",
    "generate_entry",
    "DEFAULT_SIZE",
    "UNBUILDABLE",
]

DEFAULT_SIZE = 10_000
"""Problems per task and split, unless a task's spec says otherwise."""

# Datasets whose build time or validation depends on size (measured, reasoning-gym 0.1.25):
# acre generates every entry at build (10k entries: ~9 s), word_ladder refuses size > 20000.
_SIZE_CAPS = {"acre": 1_000, "word_ladder": 20_000}

# Registered names that cannot be built from a name and a config alone.
UNBUILDABLE = {"composite": "it mixes other datasets; give those datasets (with weights) as tasks= instead"}


def _rg() -> Any:
    from prolong.core import require_extra

    reasoning_gym = require_extra("reasoning_gym", "the reasoning-gym domain")  # deferred: ~2 s to import
    safety.install()  # guard eval/exec/sympy parsers in every reasoning-gym module (cheap when done)
    return reasoning_gym


def _registry() -> dict[str, tuple[type, type]]:
    _rg()
    from reasoning_gym.factory import DATASETS

    return DATASETS


def list_tasks() -> list[str]:
    """Every reasoning-gym dataset this env can serve (all registered names that build offline)."""
    return sorted(n for n in _registry() if n not in UNBUILDABLE)


def json_safe(x: Any) -> Any:
    """A copy of ``x`` made only of JSON types (dict with str keys, list, str, int, float, bool, None).

    reasoning-gym entries hold tuples, numpy scalars and int-keyed dicts; an env's
    ``Problem.answer`` must survive ``json.dumps``/``json.loads`` unchanged so that a
    verifier in another process or behind an HTTP server scores the same thing.
    """
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, Mapping):
        return {k if isinstance(k, str) else _key(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return sorted((json_safe(v) for v in x), key=repr)
    if hasattr(x, "tolist"):  # numpy arrays and scalars
        return json_safe(x.tolist())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return json_safe(dataclasses.asdict(x))
    return str(x)


def _key(k: Any) -> str:
    # what json.dumps does for int/float/bool/None keys; anything else by str()
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if isinstance(k, (int, float)):
        return json.dumps(k)
    return str(k)


def config_key(config: Mapping[str, Any]) -> str:
    """A canonical string of a config dict (the cache key)."""
    return json.dumps(json_safe(dict(config)), sort_keys=True)


# --------------------------------------------------------------------------- task specs


@dataclass(frozen=True)
class TaskSpec:
    """One task of the env: a reasoning-gym dataset name, its draw weight and its config.

    ``config`` holds the dataset's own config fields (``min_digits``, ``max_moves``, ...,
    as in ``reasoning_gym.create_dataset(name, **config)``), after any curriculum level
    was resolved into them. ``size`` is the number of problems per split.
    """

    name: str
    weight: float = 1.0
    config: Mapping[str, Any] = field(default_factory=dict)
    size: int = DEFAULT_SIZE

    @property
    def key(self) -> str:
        return config_key(self.config)


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a reasoning-gym task name must be a str, got {type(name).__name__}: {name!r}")
    if name in UNBUILDABLE:
        raise ValueError(f"reasoning-gym task {name!r} is not supported: {UNBUILDABLE[name]}")
    names = _registry()
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown reasoning-gym task {name!r}{hint} (see prolong.envs.reasoning_gym.list_tasks())")
    return name


def _check_weight(name: str, w: Any) -> float:
    try:
        w = float(w)
    except (TypeError, ValueError):
        raise ValueError(f"task {name!r}: weight must be a number, got {w!r}") from None
    if not math.isfinite(w) or w <= 0:
        raise ValueError(f"task {name!r}: weight must be a positive finite number, got {w!r}")
    return w



def _attribute_fields(attr: Any) -> list[str]:
    """The config fields a curriculum attribute sets (a range sets two, a scalar one)."""
    from reasoning_gym.coaching.attributes import RangeAttributeDefinition, ScalarAttributeDefinition

    if isinstance(attr, RangeAttributeDefinition):
        return [attr.lower_field_name, attr.upper_field_name]
    if isinstance(attr, ScalarAttributeDefinition):
        return [attr.field_name]
    return []  # pragma: no cover - reasoning-gym has only these two kinds

def _curriculum_config(name: str, curriculum: Any) -> dict[str, Any]:
    """Config fields that a reasoning-gym curriculum sets at the requested levels.

    ``curriculum``: an int (global level: every attribute at that level, capped at its
    highest), a dict ``{"level": n}`` or ``{attribute: level, ...}``, or a
    ``reasoning_gym`` curriculum object already set up.
    """
    _rg()
    from reasoning_gym.coaching.base_curriculum import BaseCurriculum
    from reasoning_gym.factory import create_curriculum, has_curriculum

    if isinstance(curriculum, BaseCurriculum):
        cur = curriculum
    else:
        if not has_curriculum(name):
            raise ValueError(f"task {name!r}: reasoning-gym has no curriculum for it; set its config fields instead")
        cur = create_curriculum(name)
        if isinstance(curriculum, bool) or not isinstance(curriculum, (int, Mapping)):
            raise TypeError(
                f"task {name!r}: curriculum must be a level (int), a dict of attribute levels, or a curriculum object; "
                f"got {type(curriculum).__name__}"
            )
        levels = {"level": curriculum} if isinstance(curriculum, int) else dict(curriculum)
        for attr, level in levels.items():
            try:
                if attr == "level":
                    if int(level) < 0:
                        raise ValueError(f"level must be >= 0, got {level}")
                    cur.set_global_level(int(level))
                else:
                    cur.set_attr_level(attr, int(level))
            except (KeyError, ValueError, TypeError) as e:
                known = ", ".join(sorted(cur.attributes))
                raise ValueError(
                    f"task {name!r}: bad curriculum setting {attr}={level!r} ({e}); attributes: {known}"
                ) from None
    cfg = cur.generate_configuration()
    out: dict[str, Any] = {}
    for attr in cur.attributes.values():
        fields = _attribute_fields(attr)
        for f in fields:
            out[f] = getattr(cfg, f)
    return out


def _validated_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check a config against the dataset's config class without building the dataset."""
    config = dict(config)
    for reserved in ("seed", "size"):
        if reserved in config:
            raise ValueError(
                f"task {name!r}: {reserved!r} is set by the env (seed=, split= and size=), not in a task's config"
            )
    _, config_cls = _registry()[name]
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(
            f"task {name!r}: unknown config field(s) {unknown}; {config_cls.__name__} has: "
            f"{', '.join(sorted(known - {'seed', 'size'}))}"
        )
    try:
        cfg = config_cls(**config)
        if hasattr(cfg, "validate"):
            cfg.validate()
    except Exception as e:  # noqa: BLE001 - reasoning-gym validates with assert and ValueError
        raise ValueError(f"task {name!r}: invalid config {config!r}: {type(e).__name__}: {e}") from None
    return config


def parse_tasks(tasks: Any = None, *, size: int | None = None, level: int | None = None) -> list[TaskSpec]:
    """Task specs from what a user passes as ``tasks=``.

    Accepted: None (every task, weight 1); a list of names; a dict ``name -> weight``
    or ``name -> {"weight", "config", "curriculum", "size"}``; a list of dicts
    ``{"name", "weight"?, "config"?, "curriculum"?, "size"?}``. ``level`` sets the
    curriculum level of every task that has a curriculum and no own setting.
    """
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if tasks is None:
        entries = [(n, {}) for n in list_tasks()]
    elif isinstance(tasks, str):
        entries = [(tasks, {})]
    elif isinstance(tasks, Mapping):
        for name, v in tasks.items():
            if isinstance(v, Mapping):
                entries.append((name, v))
            else:
                entries.append((name, {"weight": v}))
    elif isinstance(tasks, Sequence):
        for i, t in enumerate(tasks):
            if isinstance(t, str):
                entries.append((t, {}))
            elif isinstance(t, Mapping):
                if "name" not in t:
                    raise ValueError(f"tasks[{i}] has no 'name': {dict(t)!r}")
                entries.append((t["name"], t))
            else:
                raise TypeError(f"tasks[{i}] must be a task name or a dict, got {type(t).__name__}")
    else:
        raise TypeError(f"tasks must be None, a list or a dict, got {type(tasks).__name__}")
    if not entries:
        raise ValueError("tasks is empty: give at least one reasoning-gym task")
    from reasoning_gym.factory import has_curriculum

    specs = []
    for name, opts in entries:
        name = _check_name(name)
        extra = sorted(set(opts) - {"name", "weight", "config", "curriculum", "level", "size"})
        if extra:
            raise ValueError(f"task {name!r}: unknown option(s) {extra}; use weight, config, curriculum, size")
        weight = _check_weight(name, opts.get("weight", 1.0))
        config: dict[str, Any] = {}
        curriculum = opts.get("curriculum", opts.get("level"))
        if curriculum is None and level is not None and has_curriculum(name):
            curriculum = level
        if curriculum is not None:
            config.update(_curriculum_config(name, curriculum))
        config.update(dict(opts.get("config") or {}))  # explicit fields win over a curriculum's
        config = _validated_config(name, config)
        n = int(opts.get("size", size or DEFAULT_SIZE))
        if n < 1:
            raise ValueError(f"task {name!r}: size must be >= 1, got {n}")
        n = min(n, _SIZE_CAPS.get(name, n))
        specs.append(TaskSpec(name, weight, config, n))
    return specs


# --------------------------------------------------------------------------- untrusted configs

MAX_CONFIG_KEYS = 64
MAX_CONFIG_LIST = 64
MAX_CONFIG_TEXT = 64
MAX_SEED = 2**32 - 1
MAX_SIZE = 1_000_000
_FILE_KEY = re.compile(
    r"(?i)(?:^|_)(?:files?|filename|filepath|paths?|dirs?|dirname|directory|folder|urls?|uri|root|location)$"
)
_SAFE_TEXT = re.compile(r"[A-Za-z0-9 _\-+*=,]*")


def _scalar_kind(t: Any) -> str | None:
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str or (isinstance(t, type) and issubclass(t, str)):
        return "str"
    if typing.get_origin(t) is typing.Literal:
        kinds = {_scalar_kind(type(a)) for a in typing.get_args(t)}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _value_kind(v: Any) -> str | None:
    return _scalar_kind(type(v)) if not isinstance(v, enum.Enum) or isinstance(v, str) else None


def _annotation_kinds(t: Any) -> set[tuple[str, str | None]]:
    """Kinds a field annotation admits: ("int", None), ("list", "str"), ("list", None) = any scalars."""
    origin = typing.get_origin(t)
    if origin is typing.Union or origin is types.UnionType:
        out: set[tuple[str, str | None]] = set()
        for a in typing.get_args(t):
            if a is not type(None):
                out |= _annotation_kinds(a)
        return out
    scalar = _scalar_kind(t)
    if scalar is not None:
        return {(scalar, None)}
    if t in (list, tuple) or origin in (list, tuple, Sequence, collections.abc.Sequence):
        args = [a for a in typing.get_args(t) if a is not Ellipsis]
        inner = {_scalar_kind(a) for a in args}
        if len(inner) == 1 and None not in inner:
            return {("list", inner.pop())}
        return {("list", None)} if not args else set()
    return set()


@functools.lru_cache(maxsize=None)
def _config_fields(name: str) -> dict[str, tuple[Any, frozenset[tuple[str, str | None]], float]]:
    """For each config field of ``name``: its default, the kinds of value it takes, its numeric bound."""
    _, config_cls = _registry()[name]
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: use the defaults alone
        hints = {}
    curriculum = _curriculum_magnitudes(name)
    out = {}
    for f in dataclasses.fields(config_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        kinds = set(_annotation_kinds(hints.get(f.name, f.type)))
        dk = _value_kind(default)
        if dk is not None:
            kinds.add((dk, None))
        elif isinstance(default, (list, tuple)) and default:
            inner = {_value_kind(x) for x in default}
            if len(inner) == 1 and None not in inner:
                kinds.add(("list", inner.pop()))
        numbers = [abs(x) for x in (default if isinstance(default, (list, tuple)) else [default])
                   if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)]  # fmt: skip
        bound = max([1_000.0, 100.0 * max(numbers, default=0), 10.0 * curriculum.get(f.name, 0)])
        out[f.name] = (default, frozenset(kinds), bound)
    return out


def _curriculum_magnitudes(name: str) -> dict[str, float]:
    from reasoning_gym.factory import create_curriculum, has_curriculum

    if not has_curriculum(name):
        return {}
    try:
        cur = create_curriculum(name)
    except Exception:  # noqa: BLE001 - no curriculum to learn bounds from
        return {}
    out: dict[str, float] = {}

    def magnitude(x: Any) -> float:
        if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            return abs(float(x))
        if isinstance(x, (list, tuple)):
            return max((magnitude(y) for y in x), default=0.0)
        return 0.0

    for attr in cur.attributes.values():
        fields = _attribute_fields(attr)
        m = magnitude(list(attr.levels))
        for f in fields:
            out[f] = max(out.get(f, 0.0), m)
    return out


def _check_text(name: str, key: str, v: str, allowed: Sequence[Any]) -> None:
    if any(v == a for a in allowed):
        return  # one of the field's own default values
    if len(v) > MAX_CONFIG_TEXT:
        raise ValueError(f"task {name!r}: config field {key!r}: text longer than {MAX_CONFIG_TEXT} characters")
    if "/" in v or "\\" in v or v.startswith(("~", ".")):
        raise ValueError(f"task {name!r}: config field {key!r}: a value that looks like a path is not allowed")
    if not _SAFE_TEXT.fullmatch(v) or "__" in v:
        raise ValueError(
            f"task {name!r}: config field {key!r}: text may hold only letters, digits, spaces and _ - + * = , "
            "(no double underscore)"
        )


def _check_number(name: str, key: str, v: Any, kind: str, bound: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind == "int" and not isinstance(v, int)):
        what = "an integer" if kind == "int" else "a number"
        raise ValueError(f"task {name!r}: config field {key!r}: expected {what}")
    if not math.isfinite(v) or abs(v) > bound:
        raise ValueError(f"task {name!r}: config field {key!r}: the value must be between -{bound:g} and {bound:g}")


def _check_scalar(name: str, key: str, v: Any, kind: str, bound: float, allowed: Sequence[Any]) -> None:
    if kind == "bool":
        if not isinstance(v, bool):
            raise ValueError(f"task {name!r}: config field {key!r}: expected true or false")
    elif kind in ("int", "float"):
        _check_number(name, key, v, kind, bound)
    elif kind == "str":
        if not isinstance(v, str):
            raise ValueError(f"task {name!r}: config field {key!r}: expected text")
        _check_text(name, key, v, allowed)


def _kind_name(kind: tuple[str, str | None]) -> str:
    if kind[0] == "list":
        return f"a list of {kind[1] or 'scalar'} values"
    return {"bool": "true/false", "int": "an integer", "float": "a number", "str": "text"}[kind[0]]


def check_config(name: str, config: Any) -> dict[str, Any]:
    """A config that arrived inside a problem or a data row, checked before any dataset sees it.

    Allowed: a mapping of at most 64 of the task's own config fields (``seed`` and ``size``
    too, bounded, and dropped: scoring does not use them), each set to a JSON scalar or a
    short list of scalars of the field's type, numbers within a per-field bound (100x the
    default, 10x the curriculum's highest level, at least 1000), text of at most 64
    letters, digits, spaces and ``_-+*=,`` (or one of the field's default values). Keys
    naming a file, path, folder or URL accept only their default value. Then the task's
    own ``validate()``. Raises ValueError naming the field and what is wrong (and nothing
    about the host: no paths, no file checks). Returns the config to build with.
    """
    name = _check_name(name)
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ValueError(
            f"task {name!r}: a config must be a mapping of field names to values, got {type(config).__name__}"
        )
    if len(config) > MAX_CONFIG_KEYS:
        raise ValueError(f"task {name!r}: a config may set at most {MAX_CONFIG_KEYS} fields, got {len(config)}")
    fields = _config_fields(name)
    out: dict[str, Any] = {}
    for key, v in config.items():
        if not isinstance(key, str) or key not in fields:
            known = ", ".join(sorted(set(fields) - {"seed", "size"}))
            raise ValueError(f"task {name!r}: unknown config field {str(key)[:40]!r}; the config fields are: {known}")
        default, kinds, bound = fields[key]
        if key == "seed":
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEED):
                raise ValueError(f"task {name!r}: config field 'seed': expected an integer from 0 to {MAX_SEED}")
            continue
        if key == "size":
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE:
                raise ValueError(f"task {name!r}: config field 'size': expected an integer from 1 to {MAX_SIZE}")
            continue
        if _FILE_KEY.search(key) and v != default:
            raise ValueError(
                f"task {name!r}: config field {key!r} names a file; files cannot be set in a problem's config"
            )
        if v is None and default is None:
            out[key] = v
            continue
        allowed = list(default) if isinstance(default, (list, tuple)) else [default]
        errors: list[tuple[bool, str]] = []  # (for a list kind?, message)
        for kind in sorted(kinds, key=lambda k: (k[0] != "list", str(k))):
            try:
                if kind[0] == "list":
                    if not isinstance(v, (list, tuple)):
                        raise ValueError(f"task {name!r}: config field {key!r}: expected {_kind_name(kind)}")
                    if len(v) > max(MAX_CONFIG_LIST, 2 * len(allowed)):
                        raise ValueError(f"task {name!r}: config field {key!r}: a list of more than "
                                         f"{max(MAX_CONFIG_LIST, 2 * len(allowed))} items")  # fmt: skip
                    for x in v:
                        k = kind[1] or _value_kind(x)
                        if k is None or isinstance(x, (list, tuple, Mapping)):
                            raise ValueError(f"task {name!r}: config field {key!r}: expected {_kind_name(kind)}")
                        _check_scalar(name, key, x, k, bound, allowed)
                    out[key] = list(v)
                else:
                    _check_scalar(name, key, v, kind[0], bound, allowed)
                    out[key] = v
                break
            except ValueError as e:
                errors.append((kind[0] == "list", str(e)))
        else:
            if not kinds:
                raise ValueError(f"task {name!r}: config field {key!r} cannot be set in a problem's config")
            is_list = isinstance(v, (list, tuple))
            raise ValueError(next((m for lst, m in errors if lst == is_list), errors[0][1]))
    try:
        _validated_config(name, out)
    except ValueError as e:
        raise ValueError(safety.scrub(str(e))) from None
    return out


# --------------------------------------------------------------------------- the cache

_DATASETS: dict[tuple[str, str, int, int], Any] = {}
_SCORERS: collections.OrderedDict[tuple[str, str], Any] = collections.OrderedDict()
MAX_SCORERS = 256  # configs arrive with problems: a client sending many must not fill the memory
_LOCK = threading.RLock()


def get_dataset(name: str, config: Mapping[str, Any], seed: int, size: int) -> Any:
    """The reasoning-gym dataset for ``(name, config, seed, size)``, built once per process."""
    key = (name, config_key(config), int(seed), int(size))
    ds = _DATASETS.get(key)
    if ds is not None:
        return ds
    with _LOCK:
        ds = _DATASETS.get(key)
        if ds is None:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    ds = _rg().create_dataset(name, seed=int(seed), size=int(size), **dict(config))
            except Exception as e:
                raise RuntimeError(
                    f"reasoning-gym task {name!r} (config {dict(config)!r}) failed to build: {safety.scrub(str(e))}"
                ) from e
            safety.install()  # modules the constructor imported (gsm_symbolic's generators use eval)
            _DATASETS[key] = ds
            _remember_scorer((name, key[1]), ds)
    return ds


def _remember_scorer(key: tuple[str, str], ds: Any) -> None:
    if key not in _SCORERS:
        _SCORERS[key] = ds
        while len(_SCORERS) > MAX_SCORERS:
            _SCORERS.popitem(last=False)


def get_scorer_dataset(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """A dataset object whose ``score_answer`` scores entries of ``name`` made with ``config``.

    Scoring needs the config (a few scorers read tolerances or board formats from it)
    but not the seed or size, so any cached dataset of that ``(name, config)`` serves;
    otherwise a small one is built (size 1 where the dataset allows it). ``config``
    arrives with the problem, so it is untrusted: :func:`check_config` first (ValueError).
    """
    config = dict(config or {})
    key = (name, config_key(config))
    ds = _SCORERS.get(key)
    if ds is not None:
        return ds
    with _LOCK:
        ds = _SCORERS.get(key)
        if ds is None:
            config = check_config(name, config)
            size = 10 if name == "acre" else 1  # acre splits its size 6:2:2 and needs each part non-empty
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    ds = _rg().create_dataset(name, seed=0, size=size, **config)
            except Exception as e:
                raise RuntimeError(
                    f"reasoning-gym task {name!r} (config {config!r}) failed to build: {safety.scrub(str(e))}"
                ) from e
            safety.install()  # modules the constructor imported
            _remember_scorer(key, ds)
    return ds


def generate_entry(dataset: Any, index: int) -> dict[str, Any]:
    """``dataset[index]`` with reasoning-gym's stray prints (the bf compiler's) silenced."""
    safety.install()  # cheap unless a module was imported since the last call
    with contextlib.redirect_stdout(io.StringIO()):
        return dataset[index]
