"""A small, bounded unit system: SI dimensions, prefixes, common units, LaTeX unit strings.

A :class:`Unit` is a scale to SI, a dimension vector over the seven SI base
quantities (length, mass, time, current, temperature, amount, luminous intensity)
and, for absolute temperatures, an affine offset (``°C``: K = 1 * x + 273.15).

:func:`parse_unit` reads what models and datasets write::

    m/s   m s^-1   m\\,s^{-1}   \\mathrm{m\\,s^{-1}}   \\text{km/h}   kg·m/s²
    J/(mol K)   J/mol·K   J mol^-1 K^-1   \\mu F   µF   kΩ   \\Omega   \\%   °C   ^\\circ C

Reading rules (documented in docs/stem.md): juxtaposition, ``*``, ``·``, ``\\cdot`` and
``\\times`` multiply; everything after a ``/`` at one bracket level is in the
denominator (``J/mol K`` is J/(mol K), as chemists write it); ``^2``, ``^{-1}``, ``**2``,
``²``, and a bare signed integer glued to a symbol (``s-1``, ``cm3``) are powers.
A symbol is looked up exactly, then as a prefix + unit (``km``, ``µF``), then as two
units run together (``Nm``, ``kWh``) when that split is unique.

Only a lone affine unit (``°C``, ``°F``) is an absolute temperature; inside a compound
(``J/(g °C)``) it is a temperature difference (scale 1, no offset).

Every input is bounded (length, tokens, nesting, exponents), so hostile strings fail
fast with :class:`UnitError` instead of hanging.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Unit",
    "UnitError",
    "Quantity",
    "QuantityError",
    "parse_unit",
    "parse_quantity",
    "normalize_unit_text",
    "DIMENSIONLESS",
    "describe_dims",
    "MAX_UNIT_CHARS",
    "MAX_QUANTITY_CHARS",
]

MAX_UNIT_CHARS = 200  # a unit string longer than this is not a unit
_MAX_TOKENS = 60
_MAX_DEPTH = 8
_MAX_EXPONENT = 12

Dims = tuple  # 7 Fractions: m, kg, s, A, K, mol, cd
_BASE_NAMES = ("length", "mass", "time", "current", "temperature", "amount", "luminous intensity")
_BASE_SYMBOLS = ("m", "kg", "s", "A", "K", "mol", "cd")
DIMENSIONLESS: Dims = (Fraction(0),) * 7


class UnitError(ValueError):
    """A unit string that cannot be read (unknown symbol, bad syntax, too long)."""


def _d(m: int = 0, kg: int = 0, s: int = 0, A: int = 0, K: int = 0, mol: int = 0, cd: int = 0) -> Dims:
    return tuple(Fraction(x) for x in (m, kg, s, A, K, mol, cd))


@dataclass(frozen=True)
class Unit:
    """``SI value = scale * x + offset``; ``dims`` over (m, kg, s, A, K, mol, cd)."""

    scale: float
    dims: Dims
    offset: float = 0.0
    text: str = ""

    @property
    def is_dimensionless(self) -> bool:
        return self.dims == DIMENSIONLESS

    def to_si(self, x: float) -> float:
        return self.scale * x + self.offset

    def from_si(self, x: float) -> float:
        return (x - self.offset) / self.scale


def describe_dims(dims: Dims) -> str:
    """``length/time^2`` style description; ``dimensionless`` for none."""
    num = []
    den = []
    for name, p in zip(_BASE_NAMES, dims):
        if p == 0:
            continue
        q = abs(p)
        item = name if q == 1 else f"{name}^{q}"
        (num if p > 0 else den).append(item)
    if not num and not den:
        return "dimensionless"
    text = "*".join(num) if num else "1"
    if den:
        text += "/" + "*".join(den)
    return text


# --------------------------------------------------------------------------- tables

_PREFIXES: dict[str, float] = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "h": 1e2,
    "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "μ": 1e-6, "u": 1e-6, "n": 1e-9, "p": 1e-12,
    "f": 1e-15, "a": 1e-18, "z": 1e-21, "y": 1e-24,
}  # fmt: skip

_WORD_PREFIXES: dict[str, float] = {
    "tera": 1e12, "giga": 1e9, "mega": 1e6, "kilo": 1e3, "hecto": 1e2, "deci": 1e-1, "centi": 1e-2,
    "milli": 1e-3, "micro": 1e-6, "nano": 1e-9, "pico": 1e-12, "femto": 1e-15,
}  # fmt: skip

_PI = math.pi
_LENGTH, _MASS, _TIME = _d(m=1), _d(kg=1), _d(s=1)
_ENERGY, _POWER, _PRESSURE, _FORCE = _d(2, 1, -2), _d(2, 1, -3), _d(-1, 1, -2), _d(1, 1, -2)
_TEMP = _d(K=1)

# symbol -> (scale to SI, dims, offset, prefixable)
_SYMBOLS: dict[str, tuple[float, Dims, float, bool]] = {}


def _add(names: str, scale: float, dims: Dims, *, prefix: bool = False, offset: float = 0.0) -> None:
    for name in names.split():
        _SYMBOLS[name] = (scale, dims, offset, prefix)


# SI base and coherent derived units (prefixable)
_add("m", 1.0, _LENGTH, prefix=True)
_add("g", 1e-3, _MASS, prefix=True)
_add("s", 1.0, _TIME, prefix=True)
_add("A", 1.0, _d(A=1), prefix=True)
_add("K", 1.0, _TEMP, prefix=True)
_add("mol", 1.0, _d(mol=1), prefix=True)
_add("cd", 1.0, _d(cd=1), prefix=True)
_add("N", 1.0, _FORCE, prefix=True)
_add("J", 1.0, _ENERGY, prefix=True)
_add("W", 1.0, _POWER, prefix=True)
_add("Pa", 1.0, _PRESSURE, prefix=True)
_add("C", 1.0, _d(s=1, A=1), prefix=True)
_add("V", 1.0, _d(2, 1, -3, -1), prefix=True)
_add("Ω ohm", 1.0, _d(2, 1, -3, -2), prefix=True)
_add("S", 1.0, _d(-2, -1, 3, 2), prefix=True)
_add("F", 1.0, _d(-2, -1, 4, 2), prefix=True)
_add("H", 1.0, _d(2, 1, -2, -2), prefix=True)
_add("T", 1.0, _d(0, 1, -2, -1), prefix=True)
_add("Wb", 1.0, _d(2, 1, -2, -1), prefix=True)
_add("Hz Bq", 1.0, _d(s=-1), prefix=True)
_add("Gy Sv", 1.0, _d(2, 0, -2), prefix=True)
_add("rad sr", 1.0, DIMENSIONLESS, prefix=True)
# accepted non-SI units
_add("L l ℓ", 1e-3, _d(m=3), prefix=True)
_add("M", 1e3, _d(m=-3, mol=1), prefix=True)  # molar, mol/L (mM, µM, nM)
_add("eV", 1.602176634e-19, _ENERGY, prefix=True)
_add("bar", 1e5, _PRESSURE, prefix=True)
_add("cal", 4.184, _ENERGY, prefix=True)
_add("Cal", 4184.0, _ENERGY)
_add("Da", 1.66053906660e-27, _MASS, prefix=True)
_add("u amu", 1.66053906660e-27, _MASS)
_add("Wh", 3600.0, _ENERGY, prefix=True)
_add("pc", 3.0856775814913673e16, _LENGTH, prefix=True)
_add("erg", 1e-7, _ENERGY)
_add("dyn", 1e-5, _FORCE)
_add("atm", 101325.0, _PRESSURE)
_add("mmHg", 133.322387415, _PRESSURE)
_add("Torr torr", 101325.0 / 760.0, _PRESSURE)
_add("psi", 6894.757293168, _PRESSURE)
_add("min", 60.0, _TIME)
_add("h hr", 3600.0, _TIME)
_add("d", 86400.0, _TIME)
_add("yr", 3.15576e7, _TIME)  # Julian year
_add("cc", 1e-6, _d(m=3))
_add("Å", 1e-10, _LENGTH)
_add("au AU", 1.495978707e11, _LENGTH)
_add("ly", 9.4607304725808e15, _LENGTH)
_add("ft", 0.3048, _LENGTH)
_add("mi", 1609.344, _LENGTH)
_add("lb lbs", 0.45359237, _MASS)
_add("°", _PI / 180.0, DIMENSIONLESS)
_add("%", 1e-2, DIMENSIONLESS)
_add("‰", 1e-3, DIMENSIONLESS)
_add("ppm", 1e-6, DIMENSIONLESS)
_add("ppb", 1e-9, DIMENSIONLESS)
_add("rpm", 1.0 / 60.0, _d(s=-1))
_add("°C", 1.0, _TEMP, offset=273.15)
_add("°F", 5.0 / 9.0, _TEMP, offset=273.15 - 32.0 * 5.0 / 9.0)
# counted things: "cells/mL" is a concentration, "3.2e6 cells" a number
_add("cells cell molecules molecule atoms atom individuals organisms bacteria particles colonies CFU photons",
     1.0, DIMENSIONLESS)  # fmt: skip
_add("kph", 1000.0 / 3600.0, _d(1, 0, -1))
_add("mph", 1609.344 / 3600.0, _d(1, 0, -1))

# spelled-out words (plural forms added below); take word prefixes ("kilometers")
_WORDS: dict[str, str] = {
    "meter": "m", "metre": "m", "gram": "g", "gramme": "g", "second": "s", "sec": "s", "ampere": "A", "amp": "A",
    "kelvin": "K", "mole": "mol", "candela": "cd", "newton": "N", "joule": "J", "watt": "W", "pascal": "Pa",
    "coulomb": "C", "volt": "V", "ohm": "Ω", "siemens": "S", "farad": "F", "henry": "H", "henries": "H",
    "tesla": "T", "weber": "Wb", "hertz": "Hz", "becquerel": "Bq", "gray": "Gy", "sievert": "Sv",
    "radian": "rad", "steradian": "sr", "liter": "L", "litre": "L", "molar": "M", "calorie": "cal",
    "atmosphere": "atm", "minute": "min", "hour": "h", "day": "d", "year": "yr", "angstrom": "Å",
    "degree": "°", "percent": "%", "electronvolt": "eV", "dalton": "Da", "pound": "lb", "foot": "ft",
    "feet": "ft", "mile": "mi", "celsius": "°C", "fahrenheit": "°F", "degc": "°C", "degf": "°F",
    "deg": "°", "torr": "Torr", "bar": "bar", "inch": "in", "inches": "in",
}  # fmt: skip
_add("in", 0.0254, _LENGTH)  # only reachable through the words "inch"/"inches" (see _lookup)


# --------------------------------------------------------------------------- text normalization

_SUPERSCRIPTS = str.maketrans({"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                               "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-", "⁺": "+"})  # fmt: skip
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")

_LATEX_WRAPPERS = re.compile(
    r"\\(?:mathrm|text|textrm|mathit|mathsf|mathbf|textbf|textit|operatorname|rm|mbox|unit|si|textnormal)\s*(?=\{)"
)
_LATEX_SYMBOLS = [
    (re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)\s*([()\[\]|./]|\\\{|\\\})"), r"\1"),
    (re.compile(r"\^\s*\{?\s*\\circ\s*\}?"), "°"),
    (re.compile(r"\\(?:degree|textdegree|circ)(?![A-Za-z])"), "°"),
    (re.compile(r"\\(?:mu|micro|textmu|upmu)(?![A-Za-z])"), "μ"),
    (re.compile(r"\\(?:Omega|ohm|textohm|upOmega)(?![A-Za-z])"), "Ω"),
    (re.compile(r"\\(?:AA|angstrom|text\{\\AA\})(?![A-Za-z])"), "Å"),
    (re.compile(r"\\(?:cdot|times|ast|bullet|cdotp)(?![A-Za-z])"), "*"),
    (re.compile(r"\\(?:per)(?![A-Za-z])"), "/"),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\[,;:! ]|~|\\(?:quad|qquad|enspace|thinspace)(?![A-Za-z])"), " "),
]


_WRAPPED = re.compile(
    r"\\(?:mathrm|text|textrm|mathit|mathsf|mathbf|textbf|textit|operatorname|rm|mbox|unit|si|textnormal)"
    r"\s*\{([^{}]*)\}"
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SI_PREFIX_MACRO = re.compile(r"\\(tera|giga|mega|kilo|hecto|deci|centi|milli|micro|nano|pico|femto)\s*\\")
_WORD_FORMS = [
    (re.compile(r"\bdeg(?:rees?)?\s*(?:celsius|c)\b", re.I), "°C"),
    (re.compile(r"\bdeg(?:rees?)?\s*(?:fahrenheit|f)\b", re.I), "°F"),
    (re.compile(r"\bsquare\s+([A-Za-z]+)"), r"\1^2"),
    (re.compile(r"\bcubic\s+([A-Za-z]+)"), r"\1^3"),
    (re.compile(r"\s*\\?squared\b"), "^2"),
    (re.compile(r"\s*\\?cubed\b"), "^3"),
    (re.compile(r"\bper\b"), "/"),
]


def _strip_wrappers(s: str) -> str:
    """``\\mathrm{kg}`` -> ``kg`` and ``\\frac{J}{mol}`` -> ``(J)/(mol)``, innermost first."""
    for _ in range(8):
        t = _FRAC.sub(r"(\1)/(\2)", _WRAPPED.sub(r"\1", s))  # "\text{k}\Omega" is kΩ
        if t == s:
            break
        s = t
    s = _LATEX_WRAPPERS.sub("", s)  # what is left has nested braces: keep them as groups
    return _SI_PREFIX_MACRO.sub(r"\\\1", s)


def normalize_unit_text(s: str) -> str:
    """LaTeX and unicode spellings to the plain grammar :func:`parse_unit` reads."""
    s = _strip_wrappers(s)
    for pat, rep in _LATEX_SYMBOLS:
        s = pat.sub(rep, s)
    s = _SUPER_RUN.sub(lambda m: "^(" + m.group(0).translate(_SUPERSCRIPTS) + ")", s)
    s = (
        s.replace("µ", "μ")  # micro sign -> Greek mu
        .replace("Ω", "Ω")  # ohm sign -> Greek Omega
        .replace("Å", "Å")
        .replace("℃", "°C")
        .replace("℉", "°F")
        .replace("·", "*")
        .replace("⋅", "*")
        .replace("•", "*")
        .replace("×", "*")
        .replace("−", "-")
        .replace("–", "-")
        .replace("**", "^")
        .replace("{", "(")
        .replace("}", ")")
        .replace("[", "(")
        .replace("]", ")")
    )
    s = re.sub(r"μ\s+(?=[A-Za-zΩ])", "μ", s)  # \mu\text{A}
    s = s.replace("º", "°")  # masculine ordinal, a common stand-in for the degree sign
    s = re.sub(r"°\s*([CF])(?![A-Za-z])", r"°\1", s)
    s = re.sub(r"\\([A-Za-z]+)", r" \1 ", s)  # siunitx-style \meter, \second, \kilogram
    for pat, rep in _WORD_FORMS:
        s = pat.sub(rep, s)
    return s.strip()


# --------------------------------------------------------------------------- parser

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<sym>°[CF]?|%|‰|[A-Za-zμΩÅℓ]+)"
    r"|(?P<pow>\^)"
    r"|(?P<num>[-+]?\d+(?:\s*/\s*\d+)?)"
    r"|(?P<op>[*/().])"
    r")"
)


Part = tuple  # (scale, dims, offset) of one unit symbol


def _lookup(sym: str, prefer_split: bool = False) -> list[Part]:
    """The unit(s) one symbol names: exact, prefixed, a word, or two units run together.

    Two units run together (``Nm``, ``kWh``, ``kgm``) are read only when the split is
    unique; a power written after them applies to the second (``kgm^-3``). With
    ``prefer_split``, two exact symbols run together are tried before a prefixed one
    (``ms^-1`` as m s^-1 rather than per millisecond).
    """
    if len(sym) > 24:
        raise UnitError(f"unit symbol too long: {sym[:24]!r}...")
    if prefer_split and sym not in _SYMBOLS:
        exact = [(sym[:i], sym[i:]) for i in range(1, len(sym)) if sym[:i] in _SYMBOLS and sym[i:] in _SYMBOLS]
        if len(exact) == 1:
            a, b = _lookup_one(exact[0][0]), _lookup_one(exact[0][1])
            if a is not None and b is not None and a[2] == 0.0 and b[2] == 0.0:
                return [a, b]
    hit = _lookup_one(sym)
    if hit is not None:
        return [hit]
    splits = []
    for i in range(1, len(sym)):
        a, b = _lookup_one(sym[:i]), _lookup_one(sym[i:])
        if a is not None and b is not None and a[2] == 0.0 and b[2] == 0.0:
            splits.append([a, b])
    if len(splits) == 1:
        return splits[0]
    raise UnitError(f"unknown unit {sym!r}")


def _lookup_one(sym: str) -> tuple[float, Dims, float] | None:
    if sym == "in":  # the English word "in" is far more common than the inch
        return None
    hit = _SYMBOLS.get(sym)
    if hit is not None:
        return hit[0], hit[1], hit[2]
    for plen in (2, 1):  # "da" before "d"
        p, rest = sym[:plen], sym[plen:]
        if p in _PREFIXES and rest:
            base = _SYMBOLS.get(rest)
            if base is not None and base[3] and rest != "in":
                return _PREFIXES[p] * base[0], base[1], 0.0
    word = sym.lower()
    if len(word) >= 3:
        for w in (word, word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith("es") else None):
            if not w:
                continue
            if w in _WORDS:
                s = _SYMBOLS[_WORDS[w]]
                return s[0], s[1], s[2]
            for wp, scale in _WORD_PREFIXES.items():
                if w.startswith(wp) and w[len(wp) :] in _WORDS:
                    s = _SYMBOLS[_WORDS[w[len(wp) :]]]
                    if s[3]:
                        return scale * s[0], s[1], 0.0
    return None


class _Parser:
    def __init__(self, text: str, prefer_split: bool = False) -> None:
        self.prefer_split = prefer_split
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        n = len(text)
        while pos < n:
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise UnitError(f"cannot read unit at {text[pos : pos + 12]!r}")
            pos = m.end()
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind)))
            if len(self.tokens) > _MAX_TOKENS:
                raise UnitError("unit string has too many parts")
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    # product := factor ((*|juxtaposition) factor)* ('/' factor ((*|juxt) factor)*)*
    def product(self, depth: int) -> list[tuple[tuple[float, Dims, float], Fraction]]:
        if depth > _MAX_DEPTH:
            raise UnitError("unit nested too deeply")
        out: list[tuple[tuple[float, Dims, float], Fraction]] = []
        sign = Fraction(1)
        expect_factor = True
        while True:
            tok = self.peek()
            if tok is None or tok == ("op", ")"):
                break
            kind, val = tok
            if kind == "op" and val in "*.":
                self.take()
                expect_factor = True
                continue
            if kind == "op" and val == "/":
                self.take()
                sign = Fraction(-1)
                expect_factor = True
                continue
            if kind == "num" and val.strip() == "1" and expect_factor:  # "1/s"
                self.take()
                continue
            for part, power in self.factor(depth):
                out.append((part, power * sign))
            expect_factor = False
        return out

    def factor(self, depth: int) -> list[tuple[tuple[float, Dims, float], Fraction]]:
        kind, val = self.take()
        if kind == "sym":
            found = _lookup(val, self.prefer_split)
            power = self.exponent()
            return [(p, Fraction(1)) for p in found[:-1]] + [(found[-1], power if power is not None else Fraction(1))]
        elif kind == "op" and val == "(":
            parts = self.product(depth + 1)
            if self.peek() != ("op", ")"):
                raise UnitError("unbalanced parenthesis in unit")
            self.take()
        else:
            raise UnitError(f"unexpected {val!r} in unit")
        power = self.exponent()
        if power is not None:
            parts = [(p, e * power) for p, e in parts]
        return parts

    def exponent(self) -> Fraction | None:
        tok = self.peek()
        if tok is None:
            return None
        if tok[0] == "pow":
            self.take()
            tok = self.peek()
            if tok is None:
                raise UnitError("'^' without an exponent")
            if tok == ("op", "("):
                self.take()
                tok = self.peek()
                if tok is None or tok[0] != "num":
                    raise UnitError("bad exponent in unit")
                value = self._number(self.take()[1])
                if self.peek() != ("op", ")"):
                    raise UnitError("bad exponent in unit")
                self.take()
                return value
            if tok[0] != "num":
                raise UnitError("bad exponent in unit")
            return self._number(self.take()[1])
        if tok[0] == "num" and "/" not in tok[1]:  # "s-1", "m2", "cm3"
            self.take()
            return self._number(tok[1])
        return None

    @staticmethod
    def _number(text: str) -> Fraction:
        text = text.replace(" ", "")
        if len(text) > 8:
            raise UnitError("unit exponent too large")
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise UnitError(f"bad unit exponent {text!r}") from None
        if abs(value) > _MAX_EXPONENT or value.denominator > 6:
            raise UnitError(f"unit exponent {text} out of range")
        return value


def parse_unit(text: str, *, prefer_split: bool = False) -> Unit:
    """The :class:`Unit` a (possibly LaTeX) unit string names; ``""`` is dimensionless 1.

    ``prefer_split=True`` reads ``ms^-1`` as m s^-1 instead of per millisecond (the
    verifier retries with it when the first reading has the wrong dimension).
    Raises :class:`UnitError` for an unknown symbol, bad syntax, or an input longer
    than :data:`MAX_UNIT_CHARS`.
    """
    if not isinstance(text, str):
        raise UnitError(f"a unit must be a str, got {type(text).__name__}")
    if len(text) > MAX_UNIT_CHARS * 2:
        raise UnitError(f"unit string too long ({len(text)} characters)")
    norm = normalize_unit_text(text)
    if len(norm) > MAX_UNIT_CHARS:
        raise UnitError(f"unit string too long ({len(norm)} characters)")
    if not norm:
        return Unit(1.0, DIMENSIONLESS, 0.0, "")
    parser = _Parser(norm, prefer_split)
    parts = parser.product(0)
    if parser.peek() is not None:
        raise UnitError(f"unbalanced parenthesis in unit {text!r}")
    if not parts:
        return Unit(1.0, DIMENSIONLESS, 0.0, "")
    if len(parts) == 1 and parts[0][1] == 1 and parts[0][0][2] != 0.0:
        (scale, dims, offset), _ = parts[0]
        return Unit(scale, dims, offset, norm)  # an absolute temperature
    scale = 1.0
    dims = [Fraction(0)] * 7
    try:
        for (s, d, _offset), power in parts:
            scale *= s ** float(power)
            for k in range(7):
                dims[k] += d[k] * power
    except OverflowError:
        raise UnitError(f"unit scale out of range in {text!r}") from None
    if not math.isfinite(scale) or scale == 0.0:
        raise UnitError(f"unit scale out of range in {text!r}")
    return Unit(scale, tuple(dims), 0.0, norm)


# --------------------------------------------------------------------------- quantities

MAX_QUANTITY_CHARS = 400  # a final answer longer than this is not read as a quantity


class QuantityError(ValueError):
    """An answer that is not one number with an optional unit.

    ``ambiguous`` is True when it holds several numbers (``3 m/s or 5 m/s``);
    ``out_of_range`` when it is a number that no float can hold (``1e999999999``,
    ``1e-400``, ``5/0``, more than 60 digits).
    """

    def __init__(self, message: str, *, ambiguous: bool = False, out_of_range: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.out_of_range = out_of_range


@dataclass(frozen=True)
class Quantity:
    """A number as written and its unit; ``unit`` is None when the text names no unit.

    ``unit_error`` is set (and ``unit`` None) when text after the number is not a unit
    this module knows: callers decide whether that matters (it does not when the gold
    answer has no unit).
    """

    value: float
    unit: Unit | None
    unit_text: str = ""
    unit_error: str | None = None

    @property
    def si(self) -> float:
        return self.value if self.unit is None else self.unit.to_si(self.value)


_NUMBER_PREP = [
    (re.compile(r"\\[dt]?frac\s*\{\s*([-+]?\d+(?:\.\d+)?)\s*\}\s*\{\s*(\d+(?:\.\d+)?)\s*\}"), r"\1/\2"),
    (re.compile(r"\\(?:SI|qty)\s*\{([^{}]*)\}\s*(?=\{)"), r"\1 \\si"),  # siunitx \SI{3}{\meter}
    (re.compile(r"\\(?:num)\s*\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\(?:displaystyle|left|right|boxed|fbox)(?![A-Za-z])"), ""),
    (re.compile(r"\\[()\[\]]|\$"), " "),
    (re.compile(r"[−–—]"), "-"),
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"(?<=\d)(?:\\,|\\ |\\;|\\!|~|[ \u2009\u202f])(?=\d{3}(?!\d))"), ""),  # 300\,000 -> 300000
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),  # 1,000 -> 1000
    (re.compile(r"(?<=\d),(?=\d)"), "."),  # decimal comma: 1,5 -> 1.5
]
_RELATION = re.compile(r"=|\\approx|≈|\\simeq|≃|\\sim(?![A-Za-z])|\\cong|\\to(?![A-Za-z])|\\Rightarrow|→")
_TEN_POWER = r"10\s*(?:\^|\*\*)\s*(?:\{\s*(?P<G>[-+]?\s*\d+)\s*\}|\(\s*(?P<G2>[-+]?\s*\d+)\s*\)|(?P<G3>[-+]?\d+))"
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.^}])(?<!\^\{)(?<!\^\()"
    r"(?P<sign>[-+]\s*)?"
    r"(?:" + _TEN_POWER.replace("G", "q") + r"|"
    r"(?P<mant>\d+(?:\.\d*)?|\.\d+)(?:/(?P<den>\d+(?:\.\d+)?))?"
    r"(?:[eE](?P<e>[-+]?\d+))?"
    r"(?:\s*(?:\\times|\\cdot|\*|×|·|x)\s*" + _TEN_POWER.replace("G", "p") + r")?"
    r")"
)
_EXPRESSION_REST = re.compile(r"\\(?:pi|sqrt|log|ln|exp|sin|cos|tan|cdot\s*\d)(?![A-Za-z])|[π√]|^\s*(?:!|\^(?!\s*\{?\s*\\circ))")
_EXPRESSION_PREFIX = re.compile(r"\\(?:sqrt|frac|log|ln|exp|sin|cos|tan|pi)|[\^/_]|\be\^")


def _exponent(m: re.Match[str], g: str) -> int:
    text = m.group(g) or m.group(g + "2") or m.group(g + "3")
    if text is None:
        return 0
    text = text.replace(" ", "")
    if len(text.lstrip("+-")) > 5:
        raise QuantityError("exponent out of range", out_of_range=True)
    return int(text)


def _number_value(m: re.Match[str]) -> float:
    sign = -1.0 if (m.group("sign") or "").strip() == "-" else 1.0
    if m.group("mant") is None:  # a bare power of ten
        exp = _exponent(m, "q")
        mant = "1"
    else:
        mant = m.group("mant")
        exp = _exponent(m, "p")
        e = m.group("e")
        if e is not None:
            if len(e.lstrip("+-")) > 5:
                raise QuantityError("exponent out of range", out_of_range=True)
            exp += int(e)
    if len(mant) > 60:
        raise QuantityError("number has too many digits", out_of_range=True)
    try:
        value = float(f"{mant}e{exp}")
        den = m.group("den") if m.group("mant") is not None else None
        if den is not None:
            value /= float(den)
    except (OverflowError, ZeroDivisionError, ValueError):
        raise QuantityError("not a finite number", out_of_range=True) from None
    if not math.isfinite(value):
        raise QuantityError("not a finite number", out_of_range=True)
    if value == 0.0 and mant.strip("0.") != "":
        raise QuantityError("number out of range (it underflows to 0)", out_of_range=True)
    return sign * value


def _read_unit(rest: str) -> tuple[Unit | None, str, str | None, str]:
    """(unit, unit text, unit error, remainder) for the text after a number."""
    rest = re.sub(r"\\(?:[,;:! ]|q?quad(?![A-Za-z]))", " ", rest)  # LaTeX spaces: "\\ \\text{W}\\ (2.5 kW)"
    rest = rest.strip().rstrip(".,;!")
    if not rest:
        return None, "", None, ""
    try:
        return parse_unit(rest), rest, None, ""
    except UnitError as e:
        first_error = str(e)
    chunks = rest.split()
    for k in range(min(len(chunks), 12) - 1, 0, -1):
        head = " ".join(chunks[:k]).rstrip(".,;!")
        try:
            return parse_unit(head), head, None, " ".join(chunks[k:])
        except UnitError:
            continue
    return None, rest, first_error, rest


_RESTATE_HEDGE = re.compile(r"(?i)(?:\bor\b|\band\b|\bto\b|\bvs\b|/)")
_RESTATE_SOFT = re.compile(
    r"(?i)\b(?:about|approx(?:imately)?|roughly|around|nearly|equivalently|exactly|i\.?\s*e|that\s+is|which\s+is|"
    r"equal|equals|same|in\s+other\s+units|converted)\b|≈|~"
)


def _precision(m: re.Match[str]) -> tuple[float, int]:
    """(half a unit in the last written digit, significant digits) of a number as written."""
    mant = m.group("mant")
    if mant is None:  # a bare power of ten: exact
        return 0.0, 1
    if m.group("den") is not None:  # a fraction: exact
        return 0.0, 15
    exp = _exponent(m, "p") + (int(m.group("e")) if m.group("e") is not None else 0)
    decimals = len(mant.split(".", 1)[1]) if "." in mant else 0
    digits = mant.replace(".", "").lstrip("0")
    if "." not in mant:
        digits = digits.rstrip("0")
    return 0.5 * 10.0 ** (exp - decimals), max(1, len(digits))


def _one_quantity(s: str, text: str) -> tuple[Quantity, float, int, str]:
    """The first quantity in ``s``: (quantity, half-ulp, significant digits, the text after it)."""
    m = _NUMBER.search(s)
    if m is None:
        raise QuantityError(f"no number in {text.strip()[:80]!r}")
    prefix = s[: m.start()]
    if _EXPRESSION_PREFIX.search(prefix):
        raise QuantityError(f"an expression, not a number: {text.strip()[:80]!r}")
    value = _number_value(m)
    if _EXPRESSION_REST.search(s[m.end() :]):
        raise QuantityError(f"an expression, not a number: {text.strip()[:80]!r}")
    unit, unit_text, unit_error, remainder = _read_unit(s[m.end() :])
    half_ulp, digits = _precision(m)
    return Quantity(value, unit, unit_text, unit_error), half_ulp, digits, remainder


def _consistent(a: tuple[Quantity, float, int], b: tuple[Quantity, float, int], exact: bool) -> bool:
    """True when ``b`` restates ``a``: the same value in the same or another unit, or rounded."""
    qa, ha, _ = a
    qb, hb, _ = b
    if qa.unit_error is not None or qb.unit_error is not None:
        return False
    ua, ub = qa.unit or qb.unit, qb.unit or qa.unit
    if ua is not None and ub is not None and ua.dims != ub.dims:
        return False
    sa = ua.to_si(qa.value) if ua is not None else qa.value
    sb = ub.to_si(qb.value) if ub is not None else qb.value
    slack = 1e-9 * max(abs(sa), abs(sb))
    if exact:
        return abs(sa - sb) <= slack
    ha *= ua.scale if ua is not None else 1.0
    hb *= ub.scale if ub is not None else 1.0
    return abs(sa - sb) <= max(ha, hb) * (1 + 1e-9) + slack


def _split_relations(s: str) -> list[str]:
    """``s`` split at relation signs outside brackets ("12 m/s (\\approx 43 km/h)" is one part)."""
    depth, depths = 0, []
    for c in s:
        if c in "([{":
            depth += 1
        elif c in ")]}" and depth > 0:
            depth -= 1
        depths.append(depth)
    parts, start = [], 0
    for m in _RELATION.finditer(s):
        if depths[m.start()] == 0:
            parts.append(s[start : m.start()])
            start = m.end()
    parts.append(s[start:])
    return parts


def parse_quantity(text: str) -> Quantity:
    """One number with an optional unit, read from a final answer.

    Reads ``3.0e8 m/s``, ``3 \\times 10^{8}\\ \\mathrm{m\\,s^{-1}}``, ``300\\,000 km/s``,
    ``v = 2.5 J``, ``-273.15 \\degree C``, ``\\frac{1}{2} mol``, ``25\\%``. Text before the
    last relation sign (``=``, ``\\approx``) is dropped, as are words before the number
    ("about 5 N"); an expression (``\\sqrt{2} m``, ``2\\pi``) raises :class:`QuantityError`.

    A value restated (``2.5 kW (2500 W)``, ``12 m/s, i.e. about 43 km/h``,
    ``t = 2.449 s \\approx 2.4 s``) is one answer when every restatement agrees with
    the first value within the rounding of the digits written (exactly, when joined by
    "or"/"and"/"to": ``2.5 kW, or 2500 W``); the one written with the most significant
    digits is returned (the first of equals). Values that disagree (``3 m/s or 5 m/s``,
    ``2.5 kW (250 W)``) raise :class:`QuantityError` with ``ambiguous``.
    """
    if not isinstance(text, str):
        raise QuantityError(f"an answer must be a str, got {type(text).__name__}")
    if len(text) > MAX_QUANTITY_CHARS:
        raise QuantityError(f"answer too long to be a quantity ({len(text)} characters)")
    s = text
    for pat, rep in _NUMBER_PREP:
        s = pat.sub(rep, s)
    s = _strip_wrappers(s)
    s = _SUPER_RUN.sub(lambda m: "^(" + m.group(0).translate(_SUPERSCRIPTS) + ")", s)
    s = unicodedata.normalize("NFKC", s)  # full-width digits and letters, ℃, the ohm sign
    parts = _split_relations(s)
    q, half_ulp, digits, remainder = _one_quantity(parts[-1].strip(), text)
    found = [(q, half_ulp, digits)]
    for _ in range(4):  # restatements: "2.5 kW (2500 W)", "12 m/s, i.e. about 43 km/h"
        m = _NUMBER.search(remainder)
        if m is None:
            break
        joiner = remainder[: m.start()]
        bracketed = remainder.strip()[:1] in "(["
        rest = remainder.strip()
        if rest[:1] in "([":
            rest = rest[1:]
        try:
            q2, h2, d2, remainder = _one_quantity(rest.rstrip(")].,;! "), text)
        except QuantityError:
            raise QuantityError(f"more than one number in {text.strip()[:80]!r}", ambiguous=True) from None
        exact = bool(_RESTATE_HEDGE.search(joiner)) and not _RESTATE_SOFT.search(joiner)
        other_kind = q2.unit_error is not None or (
            q2.unit is not None and found[0][0].unit is not None and q2.unit.dims != found[0][0].unit.dims
        )
        aside = bracketed or bool(_RESTATE_SOFT.search(joiner))
        if other_kind and aside and not exact and found[0][0].unit is not None:
            continue  # an aside in a unit of another kind or one not known: "9.8 m/s^2 (about 1 g)"
        if not _consistent(found[0], (q2, h2, d2), exact):
            raise QuantityError(f"more than one number in {text.strip()[:80]!r}", ambiguous=True)
        found.append((q2, h2, d2))
    if _NUMBER.search(remainder):
        raise QuantityError(f"more than one number in {text.strip()[:80]!r}", ambiguous=True)
    if len(parts) > 1:  # "t = 2.449 s \\approx 2.4 s": a plain value before the last relation restates it
        try:
            before = _one_quantity(parts[-2].strip(), text)
        except QuantityError:
            before = None
        if (
            before is not None
            and not before[3].strip()
            and not _NUMBER.search(parts[-2][: _NUMBER.search(parts[-2]).start()])
            and _consistent(found[0], before[:3], False)
        ):
            found.insert(0, before[:3])
    best = max(found, key=lambda f: f[2])  # the first of the most precise
    return best[0]
