"""What reasoning-gym's own code may evaluate: a class-level defence for untrusted entries.

reasoning-gym's scorers and generators hand strings to Python's ``eval`` and to sympy's
``parse_expr`` (which ``eval``s too). Those strings come from the model's answer and from
the entry's ground truth, and the ground truth is untrusted like the answer: it arrives
from HTTP clients, data files and TRL/verl rows. So inside the reasoning-gym package
(every ``reasoning_gym.*`` module, checked again whenever new ones are imported):

* ``eval`` is :func:`safe_eval`: Python literals (numbers, strings, bytes, True/False/None,
  lists, tuples, sets, dicts of literals) and integer/float arithmetic with bounded
  results (``+ - * / // % ** << >> & | ^ ~``); names, calls, attribute access,
  subscripts, comprehensions, lambdas and operators on non-numbers raise
  :class:`UnsafeInput`. What it evaluates it evaluates exactly as Python does.
* ``exec`` and ``compile`` raise :class:`UnsafeInput` (one exception:
  ``reasoning_gym.code.codeio`` runs code snippets from its own bundled data file when it
  *generates* problems; no entry field or config value reaches that ``exec``).
* sympy's ``parse_expr``, ``sympify`` and ``S(...)``, however a module reaches them
  (``from sympy.parsing.sympy_parser import parse_expr``, ``sympy.parse_expr``,
  ``sp.sympify``: module aliases are replaced by a proxy), first check the text with
  :func:`check_sympy_text`: numbers, operators, parentheses, plain variable names and a
  list of math functions only, with small literal exponents.

A refusal raises :class:`UnsafeInput` (a ``ValueError``, which the scorers catch and score
as 0) and is recorded, so that the verifier can tell a refused answer from a refused
ground truth (:func:`watch`). :func:`scrub` removes host paths from text shown to clients.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import keyword
import re
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

__all__ = [
    "UnsafeInput",
    "safe_eval",
    "check_python_expr",
    "check_sympy_text",
    "install",
    "watch",
    "scrub",
    "MAX_INT_BITS",
]


class UnsafeInput(ValueError):
    """Text that reasoning-gym's code must not evaluate."""


_LOCAL = threading.local()


def _refuse(kind: str, text: Any, why: str) -> None:
    refusals = getattr(_LOCAL, "refusals", None)
    if refusals is not None:
        refusals.append((kind, text if isinstance(text, str) else repr(text)[:200], why))
    raise UnsafeInput(f"{kind}: {why}")


@contextlib.contextmanager
def watch() -> Iterator[list[tuple[str, str, str]]]:
    """Record, in the yielded list, every refusal made in this thread inside the block.

    Each item is ``(kind, text, why)``. Scorers swallow exceptions, so this is how the
    caller learns that something was refused (and which text).
    """
    previous = getattr(_LOCAL, "refusals", None)
    found: list[tuple[str, str, str]] = []
    _LOCAL.refusals = found
    try:
        yield found
    finally:
        _LOCAL.refusals = previous


# --------------------------------------------------------------------------- safe eval

MAX_SOURCE_CHARS = 200_000
MAX_NODES = 50_000
MAX_INT_BITS = 65_536  # bitwise_arithmetic at its hardest (difficulty 10) needs about 16,400
_WORK_BITS = 4_000_000  # total bits of all intermediate results of one evaluation

_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None))
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}
_UNARYOPS = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a, ast.Invert: lambda a: ~a}
_NUMBER = (int, float, complex)


def _bits(x: Any) -> int:
    return x.bit_length() if isinstance(x, int) else 64


class _Evaluator:
    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text
        self.work = 0

    def refuse(self, why: str) -> None:
        _refuse(self.kind, self.text, why)

    def number(self, x: Any, what: str) -> Any:
        if not isinstance(x, _NUMBER):
            self.refuse(f"{what} of {type(x).__name__} values is not allowed (arithmetic is on numbers only)")
        return x

    def big(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            self.refuse(f"an integer of about {bits} bits is larger than the {MAX_INT_BITS}-bit bound")

    def ev(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.ev(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if not isinstance(v, _CONSTANT_TYPES):
                self.refuse(f"the constant {type(v).__name__} is not allowed")
            if isinstance(v, int):
                self.big(v.bit_length())
            return v
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    self.refuse("unpacking (*) is not allowed")
                items.append(self.ev(e))
            if isinstance(node, ast.List):
                return items
            if isinstance(node, ast.Tuple):
                return tuple(items)
            return set(items)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                self.refuse("unpacking (**) is not allowed")
            return {self.ev(k): self.ev(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARYOPS:
            operand = self.number(self.ev(node.operand), "a sign")
            return _UNARYOPS[type(node.op)](operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = type(node.op)
            a = self.number(self.ev(node.left), "arithmetic")
            b = self.number(self.ev(node.right), "arithmetic")
            self.bound(op, a, b)
            out = _BINOPS[op](a, b)
            if isinstance(out, int):
                self.big(out.bit_length())
            self.work += _bits(out)
            if self.work > _WORK_BITS:
                self.refuse("the arithmetic is too long")
            return out
        what = type(node).__name__
        hint = {
            "Name": "names",
            "Call": "calls",
            "Attribute": "attribute access",
            "Subscript": "subscripts",
            "Lambda": "lambda",
            "BoolOp": "and/or",
            "Compare": "comparisons",
            "IfExp": "conditional expressions",
            "JoinedStr": "f-strings",
        }.get(what, what)
        self.refuse(f"{hint} are not allowed (only literals and plain arithmetic)")

    def bound(self, op: type, a: Any, b: Any) -> None:
        """Refuse integer operations whose result would exceed the bound, before computing them."""
        if op is ast.Pow and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            if b > MAX_INT_BITS or (a.bit_length() - 1) * b > MAX_INT_BITS:
                self.refuse(f"a power with exponent {b} is larger than the {MAX_INT_BITS}-bit bound")
        elif op is ast.LShift and isinstance(a, int) and isinstance(b, int) and a != 0:
            if b > MAX_INT_BITS or a.bit_length() + b > MAX_INT_BITS:
                self.refuse(f"a left shift by {b} is larger than the {MAX_INT_BITS}-bit bound")
        elif op is ast.Mult and isinstance(a, int) and isinstance(b, int):
            self.big(a.bit_length() + b.bit_length() - 1)


def _parse(kind: str, source: Any) -> ast.Expression:
    if isinstance(source, (bytes, bytearray)):
        try:
            source = bytes(source).decode("utf-8")
        except UnicodeDecodeError:
            _refuse(kind, repr(source[:80]), "the source is not UTF-8 text")
    if not isinstance(source, str):
        _refuse(kind, repr(source)[:200], f"only source text can be evaluated, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        _refuse(kind, source[:200], f"the text is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(source.strip(" \t\r\n"), mode="eval")
    except SyntaxError as e:
        # what Python's eval raises too; the callers treat it as unparseable text
        raise SyntaxError(f"invalid syntax ({e.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        _refuse(kind, source[:200], "the expression is too deeply nested or not valid source")
    n = 0
    for _ in ast.walk(tree):
        n += 1
        if n > MAX_NODES:
            _refuse(kind, source[:200], f"the expression has more than {MAX_NODES} parts")
    return tree


def safe_eval(source: Any, globals: Any = None, locals: Any = None, /) -> Any:  # noqa: A002 - eval's signature
    """``eval`` for reasoning-gym: literals and bounded arithmetic, evaluated as Python does.

    Raises :class:`UnsafeInput` for anything else, ``SyntaxError`` for text that is not
    Python (as ``eval`` does), and the arithmetic's own errors (``ZeroDivisionError``,
    ``OverflowError``).
    """
    tree = _parse("eval", source)
    try:
        return _Evaluator("eval", source if isinstance(source, str) else repr(source)).ev(tree)
    except RecursionError:
        _refuse("eval", str(source)[:200], "the expression is too deeply nested")


def check_python_expr(text: Any) -> str | None:
    """Why ``text`` would be refused by :func:`safe_eval` (None: it evaluates safely).

    Text that is not Python at all is fine (``eval`` fails on it harmlessly).
    """
    with watch():
        try:
            safe_eval(text)
        except UnsafeInput as e:
            return str(e).split(": ", 1)[-1]
        except Exception:  # noqa: BLE001 - syntax and arithmetic errors: harmless
            return None
    return None


def _refuse_exec(source: Any = None, *args: Any, **kwargs: Any) -> None:
    _refuse("exec", str(source)[:200], "running code is disabled for reasoning-gym data")


def _refuse_compile(source: Any = None, *args: Any, **kwargs: Any) -> None:
    _refuse("compile", str(source)[:200], "compiling code is disabled for reasoning-gym data")


# --------------------------------------------------------------------------- sympy text

MAX_SYMPY_CHARS = 20_000
MAX_SYMPY_NUMBER_DIGITS = 100
MAX_SYMPY_EXPONENT = 100
MAX_POWER_NESTING = 2
MAX_NAME_CHARS = 32

# Functions and constants a sympy answer or ground truth may name. Everything else that
# sympy's parser would resolve to an object (sympy's namespace: Pow, Float, N, factorial,
# lambdify, preview, ...; Python's builtins: open, eval, getattr, chr, ...) is refused;
# any other name becomes a Symbol.
SYMPY_FUNCTIONS = frozenset(
    {
        "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
        "sinh", "cosh", "tanh", "coth", "sech", "csch", "asinh", "acosh", "atanh", "acoth",
        "exp", "log", "ln", "sqrt", "cbrt", "Abs", "abs", "sign", "pi", "E", "I", "oo",
        "Integral", "Rational", "Min", "Max", "floor", "ceiling",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _resolved_names() -> frozenset[str]:
    """Names sympy's parser resolves to an object rather than a new Symbol."""
    ns: dict[str, Any] = {}
    exec("from sympy import *", ns)  # noqa: S102 - a constant statement, sympy's own parser namespace
    names = set(ns) | set(dir(builtins))
    return frozenset(n for n in names if not n.startswith("_"))


_SYM_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*|\.\d+)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|(?P<pow>\*\*|\^)|(?P<op>[-+*/(),]))"
)
_SYM_EXPONENT = re.compile(
    r"\s*(?:\(\s*[+-]?\s*(\d{1,3})(?:\.\d{1,3})?(?:\s*/\s*\d{1,3})?\s*\)"
    r"|[+-]?\s*(\d{1,3})(?:\.\d{1,3})?(?![\d.A-Za-z_(])"
    r"|(?P<sym>[A-Za-z][A-Za-z0-9]*)(?![\w(.]))"
)


def sympy_text_problem(
    text: str,
    names: frozenset[str] | set[str] = frozenset(),
    *,
    functions: frozenset[str] | set[str] = SYMPY_FUNCTIONS,
    max_digits: int = MAX_SYMPY_NUMBER_DIGITS,
    single_letter_variables: bool = False,
    variable_exponents: bool = True,
) -> str | None:
    """Why sympy's parser must not see ``text`` (None: it may).

    Allowed: decimal numbers (at most 100 digits, no exponent letter), ``+ - * / ( ) ,``,
    powers (``**`` or ``^``) whose exponent is a small number (at most 100, optionally a
    sign, a decimal or a fraction, in parentheses or not) or a variable, powers nested at
    most twice, the functions and constants of :data:`SYMPY_FUNCTIONS`, the ``names`` the
    caller maps itself (a ``local_dict``), and any other name of letters, digits and
    ``_`` that is neither a Python keyword nor something sympy or Python defines (it
    becomes a Symbol). Refused: everything else (quotes, brackets, dots outside numbers,
    ``_``-leading or dunder names, ``lambda``, ``!``, ``%``, ...).

    The model-answer guards call it stricter: their own ``functions``, ``max_digits``
    15, variables of one letter only and numeric exponents only.
    """
    if not isinstance(text, str):
        return f"only text can be parsed, not {type(text).__name__}"
    if len(text) > MAX_SYMPY_CHARS:
        return f"the expression is longer than {MAX_SYMPY_CHARS} characters"
    resolved = _resolved_names()
    pos, n = 0, len(text)
    depth_stack = [0]  # deepest power nesting inside each open parenthesis
    last_group = 0
    after_exponent = False
    previous = None  # kind of the previous token
    while pos < n:
        m = _SYM_TOKEN.match(text, pos)
        if m is None:
            rest = text[pos:]
            if rest.strip() == "":
                break
            c = rest.lstrip()[0]
            return f"the character {c!r} is not allowed in an expression"
        kind = m.lastgroup
        value = m.group(kind)  # type: ignore[arg-type]
        pos = m.end()
        if kind == "pow" and after_exponent:
            return "chained powers (a**b**c) are not allowed"
        after_exponent = False
        if kind in ("num", "name") and previous in ("num", "name") and not text[m.start()].isspace():
            return f"{value!r} directly after a number or name is not allowed (exponent letters, hex, suffixes)"
        if kind == "num":
            if len(value.replace(".", "")) > max_digits:
                return f"a number has more than {max_digits} digits"
            last_group = 0
        elif kind == "name":
            if "__" in value:
                return f"the name {value!r} is not allowed (double underscore)"
            if keyword.iskeyword(value) or keyword.issoftkeyword(value):
                return f"the Python keyword {value!r} is not allowed"
            if len(value) > MAX_NAME_CHARS:
                return f"the name {value[:40]!r}... is longer than {MAX_NAME_CHARS} characters"
            if single_letter_variables and len(value) > 1 and value not in functions and value not in names:
                known = ", ".join(sorted(functions))
                return f"name {value!r} is not allowed (variables are single letters; functions: {known})"
            if value not in names and value not in functions and value in resolved:
                return f"the name {value!r} is not allowed (functions: {', '.join(sorted(functions))})"
            last_group = 0
        elif kind == "pow":
            e = _SYM_EXPONENT.match(text, pos)
            if e is None:
                return "an exponent must be a small number (like 2, -1 or (3/2)) or a variable"
            if e.group("sym") is not None and not variable_exponents:
                return "an exponent must be a small number (like 2, -1 or (3/2))"
            if e.group("sym") is not None:
                sym = e.group("sym")
                if sym not in names and sym in resolved and sym not in ("E", "I", "pi"):
                    return f"the name {sym!r} is not allowed as an exponent"
            elif int(e.group(1) or e.group(2)) > MAX_SYMPY_EXPONENT:
                return f"an exponent is larger than {MAX_SYMPY_EXPONENT}"
            nesting = last_group + 1
            if nesting > MAX_POWER_NESTING:
                return f"powers nested more than {MAX_POWER_NESTING} deep"
            depth_stack[-1] = max(depth_stack[-1], nesting)
            pos = e.end()
            last_group = 0
            after_exponent = True
            kind = "num"
        elif value == "(":
            depth_stack.append(0)
            last_group = 0
        elif value == ")":
            if len(depth_stack) == 1:
                return "unbalanced parentheses"
            last_group = depth_stack.pop()
            depth_stack[-1] = max(depth_stack[-1], last_group)
        else:
            last_group = 0
        previous = kind if kind in ("num", "name") else None
    if len(depth_stack) != 1:
        return "unbalanced parentheses"
    return None


def check_sympy_text(text: Any, names: Any = (), kind: str = "sympy") -> None:
    """Raise :class:`UnsafeInput` (and record it) if sympy's parser must not see ``text``."""
    why = sympy_text_problem(text, frozenset(n for n in names if isinstance(n, str)) if names else frozenset())
    if why is not None:
        _refuse(kind, text, why)


def _local_names(mapping: Any) -> tuple[str, ...]:
    if isinstance(mapping, dict):
        return tuple(k for k in mapping if isinstance(k, str))
    return ()


def _guard_parse_expr(real: Any) -> Any:
    @functools.wraps(real)
    def parse_expr(s: Any, local_dict: Any = None, *args: Any, **kwargs: Any) -> Any:
        check_sympy_text(s, _local_names(local_dict), kind="sympy.parse_expr")
        return real(s, local_dict, *args, **kwargs)

    parse_expr.__prolong_guard__ = True  # type: ignore[attr-defined]
    return parse_expr


def _guard_sympify(real: Any) -> Any:
    @functools.wraps(real)
    def sympify(a: Any, locals: Any = None, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - sympy's name
        if isinstance(a, (str, bytes, bytearray)):
            check_sympy_text(a if isinstance(a, str) else repr(a), _local_names(locals), kind="sympy.sympify")
        return real(a, locals, *args, **kwargs)

    sympify.__prolong_guard__ = True  # type: ignore[attr-defined]
    return sympify


class _GuardedSingleton:
    """sympy's ``S``: attributes as they are, ``S(text)`` checked like ``sympify``."""

    def __init__(self, real: Any, sympify: Any) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_sympify", sympify)

    def __call__(self, a: Any, *args: Any, **kwargs: Any) -> Any:
        return self._sympify(a, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _SympyProxy(types.ModuleType):
    """A sympy module (or submodule) as reasoning-gym sees it: the eval-based parsers guarded."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__, real.__doc__)
        self.__dict__["_prolong_real"] = real

    def __getattr__(self, name: str) -> Any:
        value = _guarded(getattr(self.__dict__["_prolong_real"], name))
        if not name.startswith("__"):
            self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"<guarded {self.__dict__['_prolong_real']!r}>"


_GUARDS: dict[int, Any] = {}
_PROXIES: dict[str, _SympyProxy] = {}


@functools.lru_cache(maxsize=1)
def _sympy_guards() -> dict[int, Any]:
    import sympy
    from sympy.parsing import sympy_parser

    guarded_sympify = _guard_sympify(sympy.sympify)
    guards: dict[int, Any] = {
        id(sympy_parser.parse_expr): _guard_parse_expr(sympy_parser.parse_expr),
        id(sympy.sympify): guarded_sympify,
        id(sympy.S): _GuardedSingleton(sympy.S, guarded_sympify),
    }
    latex = sys.modules.get("sympy.parsing.latex")
    if latex is not None and hasattr(latex, "parse_latex"):
        real = latex.parse_latex

        def parse_latex(s: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse("sympy.parse_latex", s, "parsing LaTeX is disabled for reasoning-gym data")

        guards[id(real)] = parse_latex
    return guards


def _guarded(value: Any) -> Any:
    guard = _sympy_guards().get(id(value))
    if guard is not None:
        return guard
    if isinstance(value, types.ModuleType) and not isinstance(value, _SympyProxy):
        name = getattr(value, "__name__", "")
        if name == "sympy" or name.startswith("sympy."):
            proxy = _PROXIES.get(name)
            if proxy is None:
                proxy = _PROXIES[name] = _SympyProxy(value)
            return proxy
    return value


# --------------------------------------------------------------------------- installing

_PATCHED: set[str] = set()
_SEEN_MODULES = -1
_INSTALL_LOCK = threading.Lock()
# A module that runs its own bundled code with exec when generating problems (never
# entry data or config values; see the guards module's audit).
_EXEC_ALLOWED = {"reasoning_gym.code.codeio"}
_SHADOWS = {"eval": safe_eval, "exec": _refuse_exec, "compile": _refuse_compile}


def _patch(name: str, module: types.ModuleType) -> None:
    g = module.__dict__
    for builtin_name, shadow in _SHADOWS.items():
        if builtin_name == "exec" and name in _EXEC_ALLOWED:
            continue
        current = g.get(builtin_name)
        if current is None or current is getattr(builtins, builtin_name):
            g[builtin_name] = shadow
    for key, value in list(g.items()):
        if key.startswith("__") or value is module:
            continue
        replacement = _guarded(value)
        if replacement is not value:
            g[key] = replacement


def install() -> None:
    """Guard every imported ``reasoning_gym`` module (cheap when nothing new was imported)."""
    global _SEEN_MODULES
    if len(sys.modules) == _SEEN_MODULES:
        return
    with _INSTALL_LOCK:
        count = len(sys.modules)
        for name, module in list(sys.modules.items()):
            if name in _PATCHED or module is None:
                continue
            if name == "reasoning_gym" or name.startswith("reasoning_gym."):
                _patch(name, module)
                _PATCHED.add(name)
        _SEEN_MODULES = count


# --------------------------------------------------------------------------- scrubbing

_PATH = re.compile(r"(?<![\w.)\]}>])(?:~|[A-Za-z]:|\.{1,2})?[/\\][A-Za-z_.~][\w.\-+@~]*(?:[/\\][\w.\-+@~]+)*[/\\]?")


def scrub(text: str) -> str:
    """``text`` with file system paths (``/usr/lib/...``, ``C:\\...``, ``~/...``) replaced by ``<path>``."""
    return _PATH.sub("<path>", text)
