"""The STEM verifier: option letters, and numbers with units within a relative tolerance.

What the gold answer (``Problem.answer``, a string) can be:

* **multiple choice**: one letter, ``"B"`` (or ``"(B)"``); the number of options comes
  from ``metadata["options"]`` (their texts) or ``metadata["num_options"]``, else A..J.
* **numeric**: a number with an optional unit, in any form :func:`parse_quantity`
  reads (``"3.0e8 m/s"``, ``"2.5 \\times 10^{3} J"``, ``"-273.15 \\degree C"``). A plain
  number is unitless: the response's unit is then not checked, except that a
  dimensionless one is applied (``25%`` is 0.25).
* **free**: anything else (or ``metadata["kind"] == "free"``): compared as text, with
  spacing, ``$``, ``\\text{}`` and case ignored.

``metadata["kind"]`` (``"choice"``, ``"numeric"``, ``"free"``) overrides the guess.

The gold answer and its metadata are untrusted input like the response: anything
unusable gives reward 0 with reason ``invalid ground truth`` and a ``why`` naming the
problem (not text or a number, longer than 2000 characters, a letter outside the
options, a number no float can hold such as ``1e999999999 m`` or ``1e-400 J``,
metadata of the wrong type or out of range). Nothing in them is evaluated.

Numeric policy (per problem through metadata, else the verifier's defaults):

* ``rel_tol`` (default 1e-2): right when ``|x - gold| <= rel_tol * |gold| + abs_tol``,
  with ``x`` the response converted into the gold's unit.
* ``abs_tol`` (default 0): in the gold's unit; matters when the gold is 0. A gold
  that is an absolute temperature in °C or °F also passes within 0.2 K, so
  ``273 K`` for ``0 °C`` is right.
* ``require_units`` (default False): a response with no unit when the gold has one is
  read in the gold's unit (models often drop units); with True it is wrong. A
  response whose unit has another dimension is always wrong ("dimension mismatch").
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.envs.stem.extract import final_answer, read_letter
from prolong.envs.stem.units import (
    Quantity,
    QuantityError,
    UnitError,
    describe_dims,
    parse_quantity,
    parse_unit,
)

__all__ = ["StemVerifier", "Gold", "parse_gold", "DEFAULT_REL_TOL", "MAX_OPTIONS"]

DEFAULT_REL_TOL = 1e-2
TEMPERATURE_ABS_TOL = 0.2  # kelvin: absolute temperatures (°C, °F golds) also pass within 0.2 K (273 vs 273.15)
MAX_OPTIONS = 10  # A..J
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LETTER_GOLD = re.compile(r"^\s*\(?\s*([A-Za-z])\s*\)?\s*\.?\s*$")
_TEMPERATURE = tuple(Fraction(x) for x in (0, 0, 0, 0, 1, 0, 0))


@dataclass(frozen=True)
class Gold:
    """A parsed gold answer: ``kind`` is ``"choice"``, ``"numeric"`` or ``"free"``."""

    kind: str
    text: str
    letter: str | None = None
    num_options: int = MAX_OPTIONS
    options: tuple[str, ...] = ()
    quantity: Quantity | None = None
    note: str | None = None


def _strip_gold(text: str) -> str:
    s = text.strip()
    if s.startswith("\\boxed{") and s.endswith("}"):
        s = s[len("\\boxed{") : -1]
    return s.strip().strip("$").strip()


@lru_cache(maxsize=8192)
def _parse_gold_cached(answer: str, kind: str | None, num_options: int | None, options: tuple[str, ...]) -> Gold:
    text = _strip_gold(answer)
    if kind not in (None, "choice", "numeric", "free"):
        raise ValueError(f"metadata kind must be 'choice', 'numeric' or 'free', got {kind!r}")
    n = len(options) if options else (num_options or MAX_OPTIONS)
    if not 1 <= n <= 26:
        raise ValueError(f"a multiple-choice problem needs 1 to 26 options, got {n}")
    m = _LETTER_GOLD.match(text)
    if kind == "choice" or (kind is None and m):
        if not m:
            raise ValueError(f"multiple-choice gold answer must be a letter, got {answer[:80]!r}")
        letter = m.group(1).upper()
        if ord(letter) - ord("A") >= n:
            raise ValueError(f"gold letter {letter} is outside the {n} options A-{chr(ord('A') + n - 1)}")
        return Gold("choice", text, letter=letter, num_options=n, options=options)
    if kind != "free":
        try:
            q = parse_quantity(text)
        except QuantityError as e:
            if e.out_of_range:
                raise ValueError(f"numeric gold answer {answer[:80]!r} cannot be used: {e}") from None
            if kind == "numeric":
                raise ValueError(f"numeric gold answer {answer[:80]!r} is not a number with a unit: {e}") from None
        else:
            note = None
            if q.unit_error is not None:
                note = f"gold unit not understood ({q.unit_error}); units are not checked"
            return Gold("numeric", text, quantity=q, note=note)
    if not text:
        raise ValueError("empty gold answer")
    return Gold("free", text)


def _show(value: Any) -> str:
    """A short repr of a metadata value for an error message (never a huge one)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, (str, int, float, bool)):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return f"a {type(value).__name__}"


_INT_TEXT = re.compile(r"\s*[0-9]{1,6}\s*")
_KINDS = ("choice", "numeric", "free")


def _metadata_int(metadata: Mapping[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = metadata.get(key)
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        n = int(value)
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value):
        n = int(value)
    else:
        raise ValueError(f"metadata {key} must be an integer, got {_show(value)}")
    if not lo <= n <= hi:
        raise ValueError(f"metadata {key} must be between {lo} and {hi}, got {_show(n)}")
    return n


def _metadata_flag(metadata: Mapping[str, Any], key: str, default: bool) -> bool:
    value = metadata.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or (isinstance(value, numbers.Integral) and int(value) in (0, 1)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ValueError(f"metadata {key} must be true or false, got {_show(value)}")


def parse_gold(answer: Any, metadata: Mapping[str, Any] | None = None) -> Gold:
    """The :class:`Gold` for a problem's answer and metadata; ValueError if unusable."""
    metadata = metadata or {}
    if isinstance(answer, bool) or answer is None:
        raise ValueError(f"gold answer must be a string, got {answer!r}")
    if isinstance(answer, numbers.Integral):
        n = int(answer)
        if n.bit_length() > 1000:  # beyond any float (about 1.8e308)
            raise ValueError(f"gold answer is an integer too large for a float ({n.bit_length()} bits)")
        answer = str(n) if n.bit_length() <= 192 else repr(float(n))  # at most ~58 digits are read
    elif isinstance(answer, float):
        if not math.isfinite(answer):
            raise ValueError(f"gold answer is not a finite number ({answer!r})")
        answer = repr(answer)
    if not isinstance(answer, str):
        raise ValueError(f"gold answer must be a string, got {type(answer).__name__}")
    if len(answer) > 2000:
        raise ValueError(f"gold answer too long ({len(answer)} characters)")
    kind = metadata.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in _KINDS):
        raise ValueError(f"metadata kind must be 'choice', 'numeric' or 'free', got {_show(kind)}")
    options = metadata.get("options") or ()
    if isinstance(options, str) or not isinstance(options, Sequence):
        raise ValueError(f"metadata options must be a list of option texts, got {type(options).__name__}")
    if len(options) > 26:
        raise ValueError(f"a multiple-choice problem needs 1 to 26 options, got {len(options)}")
    for i, o in enumerate(options):
        if isinstance(o, bool) or not isinstance(o, (str, int, float)):
            raise ValueError(f"metadata options[{i}] must be text, got {type(o).__name__}")
    num = _metadata_int(metadata, "num_options", 1, 26)
    return _parse_gold_cached(answer, kind, num, tuple(str(o) for o in options))


def _norm_free(text: str) -> str:
    s = re.sub(r"\\(?:text|mathrm|textbf|mathbf|displaystyle|left|right)(?![A-Za-z])", "", text)
    s = re.sub(r"\\[,;:! ]|[${}\s]", "", s)
    return s.rstrip(".").lower()


def _tolerance(metadata: Mapping[str, Any], key: str, default: float) -> float:
    value = metadata.get(key, default)
    if isinstance(value, bool):
        raise ValueError(f"metadata {key}={value!r} is not a number")
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"metadata {key}={_show(value)} is not a finite number") from None
    if not (0.0 <= value < math.inf):
        raise ValueError(f"metadata {key}={value!r} must be a finite number >= 0")
    return value


class StemVerifier:
    """Scores STEM responses: option letters, and numbers with units.

    Args:
        rel_tol: default relative tolerance for numeric answers (problems may set
            ``metadata["rel_tol"]``).
        abs_tol: default absolute tolerance, in the gold's unit.
        require_units: when True, a numeric response without a unit is wrong if the
            gold has one; default False reads it in the gold's unit.

    Calling it never raises on any response: every input gives a :class:`Verdict`
    within milliseconds (inputs are capped, parsers are bounded).
    """

    def __init__(self, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = 0.0, require_units: bool = False) -> None:
        if not (0.0 <= rel_tol < 1.0) or not (0.0 <= abs_tol < math.inf):
            raise ValueError(f"need 0 <= rel_tol < 1 and abs_tol >= 0, got rel_tol={rel_tol}, abs_tol={abs_tol}")
        self.rel_tol = float(rel_tol)
        self.abs_tol = float(abs_tol)
        self.require_units = bool(require_units)

    def __repr__(self) -> str:
        return f"StemVerifier(rel_tol={self.rel_tol}, abs_tol={self.abs_tol}, require_units={self.require_units})"

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        if not isinstance(response, str):
            return Verdict.wrong(Reason.UNPARSEABLE, why=f"the response must be a str, got {type(response).__name__}")
        metadata: Mapping[str, Any] = problem.metadata if problem is not None else {}
        try:
            gold = parse_gold(answer, metadata)
            rel_tol = _tolerance(metadata, "rel_tol", self.rel_tol)
            abs_tol = _tolerance(metadata, "abs_tol", self.abs_tol)
            require_units = _metadata_flag(metadata, "require_units", self.require_units)
        except (ValueError, TypeError) as e:
            return Verdict.wrong(Reason.INVALID_ANSWER, why=str(e)[:300])
        except Exception as e:  # noqa: BLE001 - hostile ground truth costs one reward, never the caller
            return Verdict.wrong(Reason.INVALID_ANSWER, why=f"unusable gold answer or metadata: {type(e).__name__}")
        try:
            found = final_answer(response)
            if found.text is None:
                return Verdict.wrong(Reason.NO_ANSWER, why=found.problem or "no \\boxed{} answer or 'Answer:' line")
            extracted = _CONTROL.sub("", found.text).strip()[:300]
            if gold.kind == "choice":
                return self._choice(extracted, gold)
            if gold.kind == "numeric":
                return self._numeric(extracted, gold, rel_tol, abs_tol, require_units)
            if _norm_free(extracted) == _norm_free(gold.text):
                return Verdict.right(extracted)
            return Verdict.wrong(Reason.WRONG, extracted, why="does not match the gold answer text")
        except Exception as e:  # a bug must cost one reward, never the training run
            return Verdict.wrong(Reason.ERROR, why=f"{type(e).__name__}: {str(e)[:300]}")

    # ------------------------------------------------------------------ choice
    @staticmethod
    def _choice(extracted: str, gold: Gold) -> Verdict:
        reading = read_letter(extracted, gold.options or None)
        if reading.ambiguous:
            return Verdict.wrong(
                Reason.AMBIGUOUS, extracted, why=f"names several options: {', '.join(reading.letters)}"
            )
        if reading.letter is None:
            return Verdict.wrong(Reason.UNPARSEABLE, extracted, why="no option letter in the final answer")
        last = chr(ord("A") + gold.num_options - 1)
        if ord(reading.letter) - ord("A") >= gold.num_options:
            return Verdict.wrong(
                Reason.WRONG, reading.letter, why=f"letter {reading.letter} is not an option (A-{last})"
            )
        if reading.letter == gold.letter:
            return Verdict.right(reading.letter)
        return Verdict.wrong(Reason.WRONG, reading.letter, why=f"chose {reading.letter}")

    # ------------------------------------------------------------------ numeric
    @staticmethod
    def _numeric(extracted: str, gold: Gold, rel_tol: float, abs_tol: float, require_units: bool) -> Verdict:
        assert gold.quantity is not None
        try:
            q = parse_quantity(extracted)
        except QuantityError as e:
            reason = Reason.AMBIGUOUS if e.ambiguous else Reason.UNPARSEABLE
            return Verdict.wrong(reason, extracted, why=str(e))
        g = gold.quantity.value
        g_unit = gold.quantity.unit
        notes: list[str] = [gold.note] if gold.note else []
        candidates: list[float]
        if g_unit is None:  # a unitless gold does not constrain the unit
            if q.unit is not None and q.unit.is_dimensionless:
                candidates = [q.unit.to_si(q.value)]
            else:
                candidates = [q.value]
                if q.unit is not None or q.unit_error is not None:
                    notes.append("the gold has no unit: the response's unit is not checked")
        elif q.unit is None:
            if q.unit_error is not None:
                return Verdict.wrong(Reason.UNPARSEABLE, extracted, why=q.unit_error)
            if require_units:
                return Verdict.wrong(Reason.WRONG, extracted, why=f"missing unit (the gold is in {g_unit.text})")
            candidates = [q.value]
            if g_unit.is_dimensionless:  # "0.25" for "25 %"
                candidates.append(g_unit.from_si(q.value))
            notes.append(f"no unit: read in the gold's unit ({g_unit.text})")
        else:
            unit = q.unit
            if unit.dims != g_unit.dims and g_unit.dims == _TEMPERATURE and q.unit_text.strip() in ("C", "F"):
                unit = parse_unit("°" + q.unit_text.strip())  # "25 C" meant Celsius, not coulombs
            if unit.dims != g_unit.dims:
                try:  # "ms^{-1}" meant m s^-1 when the gold is a speed
                    split = parse_unit(q.unit_text, prefer_split=True)
                except UnitError:
                    split = unit
                if split.dims == g_unit.dims:
                    unit = split
            if unit.dims != g_unit.dims:
                return Verdict.wrong(
                    Reason.WRONG,
                    extracted,
                    why=(
                        f"dimension mismatch: {q.unit_text!r} is {describe_dims(unit.dims)}, "
                        f"the gold's {g_unit.text!r} is {describe_dims(g_unit.dims)}"
                    ),
                )
            candidates = [g_unit.from_si(unit.to_si(q.value))]
        if g_unit is not None and g_unit.offset != 0.0:
            abs_tol = max(abs_tol, TEMPERATURE_ABS_TOL / g_unit.scale)
        details: dict[str, Any] = {"gold": g, "value": candidates[0]}
        if g != 0:
            details["rel_error"] = abs(candidates[0] - g) / abs(g)
        if notes:
            details["note"] = "; ".join(notes)
        for c in candidates:
            if not math.isfinite(c):
                continue
            slack = 1e-12 * max(1.0, abs(c), abs(g))  # float noise in unit conversions
            if abs(c - g) <= rel_tol * abs(g) + abs_tol + slack:
                details["value"] = c
                return Verdict.right(extracted, **details)
        return Verdict.wrong(Reason.WRONG, extracted, why=f"off by more than rel_tol={rel_tol}", **details)

