"""``prolong serve``: an HTTP reward server (FastAPI + uvicorn).

    prolong serve [--host 127.0.0.1] [--port 8000] [--workers N] [--import my_tasks.py]
                  [--api-key-file FILE] [--timeout 30] [--read-timeout 30] [--label-domain math]

Endpoints:

* ``POST /verify`` with ``{"items": [{"env" | "domain", "env_kwargs"?, "response", "answer", "problem"?}]}``
  returns ``{"results": [...]}``, one entry per item in order: a verdict
  ``{"reward", "correct", "extracted", "reason", "details"}``, or ``{"error": "..."}``
  when the verifier crashed on that item (the other items are unaffected). An item
  that runs past ``--timeout`` gets a zero-reward ``"verifier timeout"`` verdict, as
  :func:`prolong.verify_batch` gives. ``problem`` is a ``{"prompt", "answer", "id"?,
  "metadata"?}`` object for verifiers that read more than the answer; its answer is
  used when ``answer`` is absent. An item that names an ``env`` is scored by that env's
  own task, made with ``env_kwargs`` (JSON scalars the env's constructor documents;
  ``source`` and anything naming a file is refused with a 422): the reward equals that
  env's ``step`` (:mod:`prolong.scoring`, the one reward path).
* ``POST /openrlhf`` (also at ``/get_reward``, the path of OpenRLHF's own
  ``openrlhf/cli/serve_rm.py``): OpenRLHF's remote reward protocol, so
  ``--reward.remote_url http://HOST:PORT/openrlhf`` works (OpenRLHF v0.11.0,
  ``openrlhf/utils/agent.py``). The body is ``{"query": [...], "prompts": [...],
  "labels": [...]}`` (one entry per sample; empty lists are fine); the answer is
  ``{"rewards": [...], "scores": [...], "extra_logs": {"prolong_accuracy",
  "prolong_no_answer"}}``, one reward per query in order. Each response is the query
  after its prompt with trailing end-of-turn tokens dropped, and each label is what
  ``prolong export openrlhf`` writes (scored by the task of its ``env`` and validated
  ``env_kwargs``) or a bare answer in ``--label-domain`` (default ``$PROLONG_DOMAIN``,
  else math): :func:`prolong.adapters.openrlhf.parse_queries`, the same code as the
  reward-function file. Items run under the same deadline, limits and API key as
  ``/verify`` (a crashed verifier's item gets reward 0; a label that cannot be read is a
  422 naming it). OpenRLHF sends no headers, so with ``--api-key-file`` it needs a proxy
  that adds the key; bind 127.0.0.1 on each node instead (docs/adapters.md).
* ``GET /envs``: the registered envs and domains. ``GET /health``: ``{"status": "ok", ...}``.
* ``GET /metrics``: Prometheus text format (requests by path and status, items by
  domain and outcome, request and item latency histograms, items in flight).
* ``GET /openapi.json`` and ``GET /docs``: the API schema and its browsable page.

Requests that are wrong get a 4xx whose ``error`` says what is wrong: 422 for a
malformed body, a missing or mistyped field, an unknown env or domain; 413 for a body
over ``--max-body-mb`` (default 64 MiB), more than ``--max-items`` items (default
4096) or ``--max-pending`` items, or a response over ``--max-response-chars``
(default 1,000,000 characters); 503 when other requests' items already fill
``--max-pending`` (default 65536); 408 (and the connection closed) when a request's
body does not arrive within ``--read-timeout`` seconds (a connection that does not
send a request's headers in that time is closed); 401 when an API key is set
(``--api-key-file`` or ``PROLONG_API_KEY``) and the request does not carry it as
``Authorization: Bearer <key>`` or ``X-Prolong-Key: <key>`` (``/health`` is open).

Verification never runs in the event loop. Items go, each on its own, to one
:class:`prolong.pool.WorkerPool` of ``--workers`` processes: an item waits only for a
free worker, never behind a stuck one, and a stuck item costs its own ``--timeout``
(its worker is killed and replaced). A verifier whose ``verify_batch`` takes a
``deadline`` (the code sandbox, which has its own sandboxed workers) gets each
request's items as one batch with ``deadline=--timeout``, from a thread; the server
answers such items with a timeout verdict if the batch is not done ``--timeout``
(plus a short grace) after it started.
``--import`` loads modules or ``.py`` files that register tasks (``prolong.register_task``)
in the server and in every worker.

On SIGTERM or SIGINT the server stops accepting, lets the requests in flight finish
(at most ``--timeout`` plus a few seconds), stops every worker process and frees its
port. Workers die with the server even when it is SIGKILLed (see :mod:`prolong.pool`).
docs/security.md is the threat model.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hmac
import importlib
import importlib.util
import inspect
import ipaddress
import json
import logging
import os
import socket
import stat
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, StrictStr

from prolong.core import Problem, Reason, Task, Verdict, as_verdict, coerce_problem, list_verifiers
from prolong.pool import CallError, CallTimeout, WorkerPool, close_all_pools, cpu_count

__all__ = ["ServerConfig", "create_app", "main", "load_imports"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_ITEMS = 4096
DEFAULT_MAX_RESPONSE_CHARS = 1_000_000
DEFAULT_MAX_PENDING = 65536
DEFAULT_TIMEOUT = 30.0
DEFAULT_READ_TIMEOUT = 30.0
#: Seconds a verifier that runs in a thread gets past ``--timeout`` (its own deadline)
#: before the server answers its items as timeouts.
THREAD_GRACE = 2.0
#: The environment variable that holds the API key when no ``--api-key-file`` is given.
API_KEY_ENV = "PROLONG_API_KEY"

log = logging.getLogger("prolong.serve")


@dataclass
class ServerConfig:
    """Settings of one server (the ``prolong serve`` flags)."""

    workers: int = field(default_factory=cpu_count)
    timeout: float = DEFAULT_TIMEOUT  # seconds per item, the killable backstop
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_items: int = DEFAULT_MAX_ITEMS
    max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS
    max_pending: int = DEFAULT_MAX_PENDING
    imports: tuple[str, ...] = ()
    memory_limit_mb: int | None = field(default_factory=lambda: int(os.environ.get("PROLONG_WORKER_MEMORY_MB", "4096")))
    read_timeout: float = DEFAULT_READ_TIMEOUT  # seconds for a request's headers, and for its body
    api_key: str | None = field(default=None, repr=False)  # when set, required on every endpoint but /health
    label_domain: str | None = None  # domain of OpenRLHF labels that are bare answers (default $PROLONG_DOMAIN or math)


# --------------------------------------------------------------------------- user modules


def load_imports(specs: Sequence[str]) -> None:
    """Import modules (``my_pkg.tasks``) or ``.py`` files that register tasks.

    A file ``dir/tasks.py`` is imported as the module ``tasks`` with ``dir`` put on
    ``sys.path`` (worker processes started afterwards inherit the path, so pickled
    references to its functions resolve there too).
    """
    for spec in specs:
        if spec.endswith(".py") or os.path.sep in spec:
            path = os.path.abspath(spec)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"--import {spec}: no such file")
            folder, stem = os.path.split(os.path.splitext(path)[0])
            if stem.isidentifier():
                if folder not in sys.path:
                    sys.path.insert(0, folder)
                loaded = sys.modules.get(stem)
                if loaded is not None:
                    if os.path.abspath(getattr(loaded, "__file__", "") or "") != path:
                        raise ImportError(f"--import {spec}: a different module named {stem!r} is already imported")
                    continue
                importlib.import_module(stem)
                continue
            name = "prolong_user_" + "".join(c if c.isalnum() else "_" for c in stem)
            if name in sys.modules:
                continue
            mod_spec = importlib.util.spec_from_file_location(name, path)
            if mod_spec is None or mod_spec.loader is None:
                raise ImportError(f"--import {spec}: cannot load it as a Python file")
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module  # so pickled references to its functions resolve
            mod_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)


def _worker_init(imports: tuple[str, ...]) -> None:
    import prolong  # noqa: F401 - registers the built-in domains

    load_imports(imports)


def _verify_item(verifier: Any, response: str, answer: Any, problem: Problem | None) -> tuple[dict[str, Any], float]:
    t0 = time.perf_counter()
    out = as_verdict(verifier(response, answer, problem)).to_dict()
    return out, time.perf_counter() - t0


def _ready() -> bool:
    return True


def _preload() -> None:
    """Import, in the server, what verifiers import on first use (sympy and its LaTeX
    parser for math), before the workers fork from it: every worker, and the replacement
    of a killed one, starts warm instead of spending an item's deadline on imports."""
    try:
        from prolong.envs.math.verify import answers_match

        answers_match("x^2+1", "1+x^2")  # in-process: imports sympy, fills the parser's caches
    except Exception:  # noqa: BLE001 - only a speed-up
        pass
    try:  # IFEval's language checks load langdetect's profiles on first use (about 2 s)
        from prolong.core import get_verifier

        get_verifier("ifeval")("HELLO THERE.", {"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]})
    except Exception:  # noqa: BLE001 - only a speed-up
        pass


def _short_error(text: str) -> str:
    """What a client sees of a verifier's crash: the exception line, not the traceback
    (whose file paths describe the host), with any path in it replaced by ``<path>``. The
    operator's log has the whole of it."""
    from prolong.envs.reasoning_gym.safety import scrub

    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "unknown error"
    return scrub(last)[:500]  # an exception's message may name files too (FileNotFoundError)


def _exception_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# --------------------------------------------------------------------------- verification


class Verification:
    """Schedules each item on its own; the event loop only awaits.

    * Every domain but those below: one :class:`~prolong.pool.WorkerPool` of ``workers``
      processes. Each item is a call with the per-item deadline (counted from its start
      in a worker); items of all requests share the pool's queue in arrival order, so an
      item waits only for a free worker and a stuck one holds its own worker until its
      deadline. (Math runs here too: inside a worker its sympy stage runs directly, under
      the item's deadline.)
    * Verifiers whose ``verify_batch`` takes ``deadline=`` (the code sandbox, with its
      own sandboxed workers): each request's items of that domain as one batch with
      ``deadline=timeout``, in a thread. If the batch is not done ``timeout +
      THREAD_GRACE`` seconds after it started (or could not start for as long), its items
      are answered as timeouts and the thread is left to finish on its own.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        init = functools.partial(_worker_init, tuple(config.imports))
        self.pool = WorkerPool(config.workers, memory_limit_mb=config.memory_limit_mb, initializer=init)
        # a batch thread mostly waits for the verifier's own workers (the code sandbox schedules
        # its tests fairly across responses): enough threads that batches never queue here
        self._batch_threads = ThreadPoolExecutor(max_workers=max(32, 4 * cpu_count(), config.workers), thread_name_prefix="prolong-batch")
        self._modes: dict[int, tuple[Any, str]] = {}

    def warm(self, timeout: float = 600.0) -> None:
        """Start every worker (imports included) before the first request."""
        _preload()
        self.pool.start(timeout)

    def close(self) -> None:
        self._batch_threads.shutdown(wait=False, cancel_futures=True)
        self.pool.close()

    def mode(self, verifier: Any) -> str:
        """``"pool"`` (an item per worker call) or ``"batch"`` (verify_batch with a deadline, in a thread)."""
        hit = self._modes.get(id(verifier))
        if hit is not None and hit[0] is verifier:
            return hit[1]
        verify_batch = getattr(verifier, "verify_batch", None)
        try:
            takes_deadline = verify_batch is not None and "deadline" in inspect.signature(verify_batch).parameters
        except (TypeError, ValueError):
            takes_deadline = False
        mode = "batch" if takes_deadline else "pool"
        self._modes[id(verifier)] = (verifier, mode)
        return mode

    def _timeout_result(self) -> tuple[dict[str, Any], float]:
        return Verdict.wrong(Reason.TIMEOUT, seconds=self.config.timeout).to_dict(), self.config.timeout

    def _pool_result(self, out: Any) -> tuple[dict[str, Any], float]:
        if isinstance(out, CallTimeout):
            return Verdict.wrong(Reason.TIMEOUT, seconds=out.seconds).to_dict(), out.seconds
        if isinstance(out, CallError):
            log.warning("an item's verifier failed in a worker: %s", out.message.strip())
            return {"error": _short_error(out.message)}, 0.0
        return out

    def _batch_in_thread(
        self, verifier: Any, responses: list[str], answers: list[Any], problems: list[Problem | None]
    ) -> list[tuple[dict[str, Any], float]]:
        t0 = time.perf_counter()
        try:
            verdicts = verifier.verify_batch(responses, answers, problems, deadline=self.config.timeout)
            outs: list[dict[str, Any]] = [as_verdict(v).to_dict() for v in verdicts]
            if len(outs) != len(responses):
                raise ValueError(f"verify_batch gave {len(outs)} verdicts for {len(responses)} items")
        except Exception as e:  # noqa: BLE001 - one domain's crash is its items' error
            log.warning("a verify_batch of %r failed", verifier, exc_info=True)
            outs = [{"error": _short_error(_exception_text(e))}] * len(responses)
        dt = (time.perf_counter() - t0) / max(len(responses), 1)
        return [(o, dt) for o in outs]

    async def _in_thread(self, executor: ThreadPoolExecutor, idx: list[int], results: list[Any], fn: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        started = loop.create_future()  # the deadline counts from the start in a thread, as in a worker

        def run() -> Any:
            loop.call_soon_threadsafe(_resolve, started)
            return fn(*args)

        try:
            job = loop.run_in_executor(executor, run)
        except RuntimeError:  # shutting down
            for i in idx:
                results[i] = ({"error": "the server is shutting down"}, 0.0)
            return
        bound = self.config.timeout + THREAD_GRACE
        done, _ = await asyncio.wait([started, job], timeout=bound, return_when=asyncio.FIRST_COMPLETED)
        if not done:  # every thread is busy past the bound: no start, a timeout verdict
            job.cancel()
            outs = [self._timeout_result()] * len(idx)
        else:
            try:
                outs = await asyncio.wait_for(asyncio.shield(job), timeout=bound)
            except asyncio.TimeoutError:
                outs = [self._timeout_result()] * len(idx)
            except Exception as e:  # noqa: BLE001 - never leave a request waiting
                outs = [({"error": _short_error(f"server error: {_exception_text(e)}")}, 0.0)] * len(idx)
        for i, out in zip(idx, outs):
            results[i] = out

    async def _in_pool(self, idx: list[int], args: list[tuple[Any, ...]], results: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def on_done(_: list[Any]) -> None:  # in the pool's thread: one wake-up of the loop per request
            try:
                loop.call_soon_threadsafe(_resolve, waiter)
            except RuntimeError:  # the loop is closed
                pass

        job = self.pool.map_async(_verify_item, args, timeout=self.config.timeout, callback=on_done)
        try:
            await waiter
        except asyncio.CancelledError:  # the request was dropped: its items not started yet are too
            job.cancel()
            raise
        for i, out in zip(idx, job.results):
            results[i] = self._pool_result(out)

    async def verify(
        self, verifiers: list[Any], responses: list[str], answers: list[Any], problems: list[Problem | None]
    ) -> list[tuple[dict[str, Any], float]]:
        """``(result dict, seconds it took)`` per item, in order; ``verifiers[i]`` is the
        verifier that scores item i (the item's task's own, see :mod:`prolong.scoring`)."""
        n = len(responses)
        results: list[Any] = [None] * n
        pool_idx: list[int] = []
        batches: dict[int, tuple[Any, list[int]]] = {}
        waits = []
        for i in range(n):
            if self.mode(verifiers[i]) == "batch":
                batches.setdefault(id(verifiers[i]), (verifiers[i], []))[1].append(i)
            else:
                pool_idx.append(i)
        if pool_idx:
            args = [(verifiers[i], responses[i], answers[i], problems[i]) for i in pool_idx]
            waits.append(self._in_pool(pool_idx, args, results))
        for v, idx in batches.values():
            waits.append(
                self._in_thread(
                    self._batch_threads, idx, results, self._batch_in_thread, v,
                    [responses[i] for i in idx], [answers[i] for i in idx], [problems[i] for i in idx],
                )
            )  # fmt: skip
        if len(waits) == 1:
            await waits[0]
        else:
            await asyncio.gather(*waits)
        return results


def _resolve(future: asyncio.Future) -> None:
    if not future.done():  # a request that went away cancelled it
        future.set_result(None)


# --------------------------------------------------------------------------- metrics

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    def __init__(self, buckets: Sequence[float] = _LATENCY_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.total = 0.0
        self.n = 0

    def observe(self, v: float) -> None:
        self.total += v
        self.n += 1
        for k, b in enumerate(self.buckets):
            if v <= b:
                self.counts[k] += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        out = [f'{name}_bucket{{{labels}{sep}le="{b:g}"}} {c}' for b, c in zip(self.buckets, self.counts)]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        lab = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{lab} {self.total:.6f}")
        out.append(f"{name}_count{lab} {self.n}")
        return out


class Metrics:
    """Counters and histograms, updated from the event loop only (no locks needed)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.request_seconds: dict[str, Histogram] = defaultdict(Histogram)
        self.items: dict[tuple[str, str], int] = defaultdict(int)
        self.item_seconds = Histogram()
        self.in_flight = 0
        self.started = time.time()

    def render(self, workers: int) -> str:
        lines = [
            "# HELP prolong_requests_total HTTP requests by path and status code.",
            "# TYPE prolong_requests_total counter",
        ]
        for (path, code), c in sorted(self.requests.items()):
            lines.append(f'prolong_requests_total{{path="{path}",code="{code}"}} {c}')
        lines += ["# HELP prolong_request_duration_seconds Time to answer a request.", "# TYPE prolong_request_duration_seconds histogram"]
        for path, h in sorted(self.request_seconds.items()):
            lines += h.lines("prolong_request_duration_seconds", f'path="{path}"')
        lines += [
            "# HELP prolong_items_verified_total Items verified, by domain and outcome (correct, partial, wrong, timeout, error).",
            "# TYPE prolong_items_verified_total counter",
        ]
        for (domain, outcome), c in sorted(self.items.items()):
            lines.append(f'prolong_items_verified_total{{domain="{_escape(domain)}",outcome="{outcome}"}} {c}')
        errors = sum(c for (_, o), c in self.items.items() if o == "error")
        lines += [
            "# HELP prolong_item_errors_total Items whose verifier crashed.",
            "# TYPE prolong_item_errors_total counter",
            f"prolong_item_errors_total {errors}",
            "# HELP prolong_item_duration_seconds Time an item spent in its worker (queueing excluded).",
            "# TYPE prolong_item_duration_seconds histogram",
            *self.item_seconds.lines("prolong_item_duration_seconds"),
            "# HELP prolong_items_in_flight Items accepted and not yet answered.",
            "# TYPE prolong_items_in_flight gauge",
            f"prolong_items_in_flight {self.in_flight}",
            "# HELP prolong_workers Verification worker processes.",
            "# TYPE prolong_workers gauge",
            f"prolong_workers {workers}",
            "# HELP prolong_uptime_seconds Seconds since the server started.",
            "# TYPE prolong_uptime_seconds gauge",
            f"prolong_uptime_seconds {time.time() - self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _outcome(result: dict[str, Any]) -> str:
    if "error" in result:
        return "error"
    if result.get("reason") == Reason.TIMEOUT:
        return "timeout"
    if result.get("correct"):
        return "correct"
    return "partial" if result.get("reward", 0) > 0 else "wrong"


# --------------------------------------------------------------------------- the app


class VerifyItem(BaseModel):
    """One item of ``POST /verify``."""

    model_config = ConfigDict(extra="forbid")
    env: Optional[StrictStr] = None
    env_kwargs: Optional[dict[str, Any]] = None
    domain: Optional[StrictStr] = None
    response: StrictStr
    answer: Any = None
    problem: Optional[dict[str, Any]] = None


class VerifyRequest(BaseModel):
    """The body of ``POST /verify``."""

    model_config = ConfigDict(extra="forbid")
    items: list[VerifyItem]


class OpenRLHFRequest(BaseModel):
    """The body OpenRLHF POSTs to a remote reward URL (v0.11.0
    ``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor._fetch_rewards_via_http``):
    ``{"query": [prompt + response decoded with special tokens], "prompts": [...],
    "labels": [the --data.label_key column]}``. Other keys are ignored (a later OpenRLHF
    may send more)."""

    model_config = ConfigDict(extra="ignore")
    query: list[StrictStr]
    prompts: Optional[list[Optional[StrictStr]]] = None
    labels: list[Any]


class _ASGIGuard:
    """Around the FastAPI app: counts requests and their latency per route, checks the
    API key (401), caps the body size (413) and the time its body may take (408)."""

    _PATHS = frozenset({"/verify", "/openrlhf", "/get_reward", "/envs", "/health", "/metrics"})
    _OPEN_PATHS = frozenset({"/health"})  # answered without the API key

    def __init__(
        self, app: Any, metrics: Metrics, max_body_bytes: int, read_timeout: float = DEFAULT_READ_TIMEOUT, api_key: str | None = None
    ) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes
        self.read_timeout = float(read_timeout)
        self._key = api_key.encode("utf-8") if api_key else None

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        if self._key is None:
            return True
        given = headers.get(b"x-prolong-key")
        if given is None:
            auth = headers.get(b"authorization", b"")
            scheme, _, token = auth.partition(b" ")
            if scheme.lower() != b"bearer":
                return False
            given = token.strip()
        return hmac.compare_digest(given, self._key)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        label = path if path in self._PATHS else "other"
        t0 = time.perf_counter()
        status = {"code": 500, "started": False}

        async def send_wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
            await send(message)

        try:
            headers = dict(scope.get("headers") or [])
            if path not in self._OPEN_PATHS and not self._authorized(headers):
                await _send_json(
                    send_wrapped, 401,
                    {"error": "this server requires an API key: send 'Authorization: Bearer <key>' or 'X-Prolong-Key: <key>'"},
                    [(b"www-authenticate", b"Bearer")],
                )  # fmt: skip
                return
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await _send_json(send_wrapped, 413, {"error": self._too_large_message(int(length))}, [(b"connection", b"close")])
                return
            received = 0
            body_done = False
            loop = asyncio.get_running_loop()
            body_deadline = loop.time() + self.read_timeout

            async def receive_limited() -> dict[str, Any]:
                nonlocal received, body_done
                if body_done:  # after the body: a wait for the client to disconnect, unbounded
                    return await receive()
                try:
                    message = await asyncio.wait_for(receive(), timeout=max(0.0, body_deadline - loop.time()))
                except asyncio.TimeoutError:
                    # raised while FastAPI reads the body: its handler answers 408 and uvicorn closes
                    from starlette.exceptions import HTTPException

                    raise HTTPException(
                        408, f"the request body did not arrive within {self.read_timeout:g} s (--read-timeout)",
                        headers={"Connection": "close"},
                    ) from None  # fmt: skip
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        from starlette.exceptions import HTTPException

                        raise HTTPException(413, self._too_large_message(f"more than {self.max_body_bytes}"), headers={"Connection": "close"})
                    if not message.get("more_body", False):
                        body_done = True
                else:
                    body_done = True
                return message

            await self.app(scope, receive_limited, send_wrapped)
        finally:
            self.metrics.requests[(label, status["code"])] += 1
            self.metrics.request_seconds[label].observe(time.perf_counter() - t0)

    def _too_large_message(self, size: int | str) -> str:
        return f"request body of {size} bytes is over the limit of {self.max_body_bytes} bytes (--max-body-mb)"


async def _send_json(send: Any, status: int, content: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(content).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def _guarded_protocol(read_timeout: float) -> Any:
    """uvicorn's HTTP/1.1 protocol class, plus a deadline for a request's headers.

    uvicorn closes a keep-alive connection idle for ``timeout_keep_alive``, but a new
    connection, or one that sends half a request line, waits forever. Here a connection
    that has not sent a whole request head ``read_timeout`` seconds after it opened (or
    after its previous response) is closed; the body's own deadline is _ASGIGuard's.
    """
    try:
        import httptools  # noqa: F401 - uvicorn's "auto" prefers it when installed

        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

    class HeaderDeadlineProtocol(base):  # type: ignore[misc, valid-type]
        _prolong_timer: Any = None

        def _prolong_arm(self) -> None:
            if self._prolong_timer is not None:
                self._prolong_timer.cancel()
                self._prolong_timer = None
            cycle = getattr(self, "cycle", None)
            if cycle is not None and not getattr(cycle, "response_complete", True):
                return  # a request is under way (a pipelined one): its head has arrived
            self._prolong_timer = self.loop.call_later(read_timeout, self._prolong_expire, cycle)

        def _prolong_expire(self, cycle_at_arm: Any) -> None:
            self._prolong_timer = None
            if self.transport.is_closing() or getattr(self, "cycle", None) is not cycle_at_arm:
                return  # closed already, or a new request's head arrived in time
            self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._prolong_arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._prolong_arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._prolong_timer is not None:
                self._prolong_timer.cancel()
                self._prolong_timer = None
            super().connection_lost(exc)

    return HeaderDeadlineProtocol


def create_app(config: ServerConfig | None = None) -> Any:
    """The ASGI app (FastAPI inside a size/metrics guard). Worker processes start with
    the app's lifespan and stop with it."""
    from fastapi import FastAPI, HTTPException, Request
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse, Response

    import prolong
    from prolong.env import env_info

    config = config or ServerConfig()
    load_imports(config.imports)
    metrics = Metrics()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Any):
        verification = Verification(config)
        await asyncio.get_running_loop().run_in_executor(None, verification.warm)
        state["verification"] = verification
        try:
            yield
        finally:
            # after uvicorn drained the requests: our workers, then any pool a verifier
            # started in this process (math's sympy workers)
            verification.close()
            close_all_pools()

    api = FastAPI(title="prolong reward server", version=prolong.__version__, lifespan=lifespan)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                detail = (err.get("ctx") or {}).get("error", "")
                problems.append(f"the body is not valid JSON (at character {err.get('loc', ('', '?'))[-1]}{': ' + str(detail) if detail else ''})")
                continue
            if tuple(err.get("loc", ())) == ("body",) and err.get("type") in ("model_attributes_type", "dict_type"):
                ctype = request.headers.get("content-type", "none")
                shape = '{"query": [...], "prompts": [...], "labels": [...]}' if request.url.path != "/verify" else '{"items": [...]}'
                problems.append(
                    f"the body must be a JSON object {shape} sent with Content-Type: application/json "
                    f"(got Content-Type: {ctype})"
                )
                continue
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            where = "".join(f"[{p}]" if p.isdigit() else (f".{p}" if k else p) for k, p in enumerate(loc)) or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(status_code=422, content={"error": "; ".join(problems[:20]), "detail": _jsonable(exc.errors())})

    @api.exception_handler(StarletteHTTPException)  # ours, and the router's 404 / 405
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"error": str(exc.detail)}, headers=exc.headers)

    def _target_of(i: int, item: VerifyItem) -> tuple[str, Any]:
        """``(domain, what scores it)``: the task of the item's env (with its validated
        ``env_kwargs``), else the domain's verifier."""
        from prolong.adapters.common import resolve_domain
        from prolong.core import ProlongError
        from prolong.scoring import resolve_env_id, task_of_row

        if item.env is None and item.domain is None:
            raise HTTPException(422, f"items[{i}]: give 'env' (an env id) or 'domain'")
        task = None
        if item.env is not None:
            try:
                env_id = resolve_env_id(item.env)
            except ProlongError:
                raise HTTPException(422, f"items[{i}].env: unknown env {item.env!r}; GET /envs lists them") from None
            try:
                task = task_of_row(env_id, item.env_kwargs)
            except ProlongError as e:
                raise HTTPException(422, f"items[{i}].env_kwargs: {e}") from None
        elif item.env_kwargs:
            raise HTTPException(422, f"items[{i}].env_kwargs: env arguments need an 'env'")
        if item.domain is not None:
            try:
                domain = resolve_domain(item.domain)
            except ValueError:
                raise HTTPException(
                    422, f"items[{i}].domain: unknown domain {item.domain!r}; known: {', '.join(list_verifiers())}"
                ) from None
            if task is not None and task.domain != domain:
                raise HTTPException(422, f"items[{i}]: env {item.env!r} is domain {task.domain!r}, not {domain!r}")
            if task is None:
                return domain, domain
        assert task is not None
        return task.domain, task

    # Reading a request's items can build tasks (a row's env with new arguments makes its
    # env once, which may take a while): that runs on one thread of its own, never on
    # the event loop, so /health and the other requests stay responsive, and such builds
    # queue one at a time whatever a client sends.
    prepare_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prolong-prepare")

    async def _prepare(fn: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(prepare_executor, fn)

    @api.post("/verify", response_model=None, responses={200: {"description": '{"results": [verdict or {"error"}, ...]}, one per item in order'}})
    async def verify(req: VerifyRequest) -> Response:
        items = req.items
        _admit(len(items))
        from prolong.scoring import _route, verifier_of

        def prepare() -> tuple[list, list, list, list, list]:
            domains, verifiers, responses, answers, problems = [], [], [], [], []
            for i, item in enumerate(items):
                domain, target = _target_of(i, item)
                if len(item.response) > config.max_response_chars:
                    raise HTTPException(
                        413,
                        f"items[{i}].response has {len(item.response)} characters; the limit is "
                        f"{config.max_response_chars} (--max-response-chars)",
                    )
                problem = None
                answer = item.answer
                if item.problem is not None:
                    record = dict(item.problem)
                    if "answer" not in record and answer is not None:
                        record["answer"] = answer
                    try:
                        problem = coerce_problem(record, domain=domain, default_id=f"item {i}")
                    except (ValueError, TypeError) as e:
                        raise HTTPException(422, f"items[{i}].problem: {e}") from None
                    if answer is None:
                        answer = problem.answer
                if answer is None:
                    raise HTTPException(422, f"items[{i}]: no 'answer' (and no 'problem' with an answer)")
                try:
                    verifier = _route(verifier_of(target), answer, problem)
                except Exception as e:  # noqa: BLE001 - a domain that cannot load, a mixture item without a problem
                    raise HTTPException(422, f"items[{i}]: {_short_error(_exception_text(e))}") from None
                verifiers.append(verifier)
                domains.append(domain)
                responses.append(item.response)
                answers.append(answer)
                problems.append(problem)
            return domains, verifiers, responses, answers, problems

        domains, verifiers, responses, answers, problems = await _prepare(prepare)
        results = await _run(domains, verifiers, responses, answers, problems)
        body = json.dumps({"results": results}, ensure_ascii=False, default=str)
        return Response(content=body.encode("utf-8"), media_type="application/json")

    def _admit(n: int) -> None:
        """413 for a request that can never be admitted."""
        if n > config.max_items:
            raise HTTPException(413, f"{n} items in one request; the limit is {config.max_items} (--max-items)")
        if n > config.max_pending:  # it could never be admitted: not a "retry later"
            raise HTTPException(413, f"{n} items in one request; at most {config.max_pending} items may wait at once (--max-pending)")

    async def _run(
        domains: list[str], verifiers: list[Any], responses: list[str], answers: list[Any], problems: list[Problem | None]
    ) -> list[dict[str, Any]]:
        """Each item's result dict, in order (503 when the queue is full), counted in the metrics."""
        n = len(responses)
        if metrics.in_flight + n > config.max_pending:
            raise HTTPException(503, f"{metrics.in_flight} items are already waiting; retry later", headers={"Retry-After": "1"})
        metrics.in_flight += n
        try:
            outs = await state["verification"].verify(verifiers, responses, answers, problems)
        finally:
            metrics.in_flight -= n
        results = []
        for domain, (result, seconds) in zip(domains, outs):
            metrics.items[(domain, _outcome(result))] += 1
            metrics.item_seconds.observe(seconds)
            results.append(result)
        return results

    async def openrlhf(req: OpenRLHFRequest) -> Response:
        """OpenRLHF's remote reward protocol: ``{"query", "prompts", "labels"}`` in,
        ``{"rewards", "scores", "extra_logs"}`` out (what ``openrlhf/cli/serve_rm.py``
        answers). Each response is the query after its prompt (end-of-turn tokens
        dropped); each label is what ``prolong export openrlhf`` writes (the task of its
        ``env`` and ``env_kwargs``), or a bare answer in ``--label-domain``."""
        from prolong.adapters.openrlhf import parse_queries, reward_logs
        from prolong.core import ProlongError
        from prolong.scoring import _route, verifier_of

        n = len(req.query)
        _admit(n)

        def prepare() -> tuple[list, list, list, list, list]:
            try:
                targets, responses, answers, problems = parse_queries(req.query, req.prompts, req.labels, domain=config.label_domain)
            except (ProlongError, ValueError, TypeError) as e:
                raise HTTPException(422, _short_error(str(e))) from None
            domains, verifiers = [], []
            for i, (target, response, answer, problem) in enumerate(zip(targets, responses, answers, problems)):
                if len(response) > config.max_response_chars:
                    raise HTTPException(
                        413, f"the response in query[{i}] has {len(response)} characters; the limit is "
                        f"{config.max_response_chars} (--max-response-chars)",
                    )  # fmt: skip
                try:
                    verifiers.append(_route(verifier_of(target), answer, problem))
                except Exception as e:  # noqa: BLE001 - a domain that cannot load, a mixture item without a problem
                    raise HTTPException(422, f"labels[{i}]: {_short_error(_exception_text(e))}") from None
                domains.append(target.domain if isinstance(target, Task) else str(target))
            return domains, verifiers, responses, answers, problems

        domains, verifiers, responses, answers, problems = await _prepare(prepare)
        results = await _run(domains, verifiers, responses, answers, problems)
        # a verifier's crash is a zero reward here (OpenRLHF needs a number per sample)
        verdicts = [Verdict.wrong(Reason.ERROR) if "error" in r else Verdict.from_dict(r) for r in results]
        rewards = [float(v.reward) for v in verdicts]
        body = {"rewards": rewards, "scores": list(rewards), "extra_logs": reward_logs(verdicts) if verdicts else {}}
        return Response(content=json.dumps(body).encode("utf-8"), media_type="application/json")

    _openrlhf_doc = {200: {"description": '{"rewards": [...], "scores": [...], "extra_logs": {...}}, one reward per query in order'}}
    api.post("/openrlhf", response_model=None, responses=_openrlhf_doc)(openrlhf)
    api.post("/get_reward", response_model=None, responses=_openrlhf_doc, include_in_schema=False)(openrlhf)

    @api.get("/envs")
    async def envs() -> dict[str, Any]:
        rows = []
        for env_id in prolong.list_envs():
            info = env_info(env_id)
            rows.append({"id": env_id, "domain": info.domain, "description": info.description})
        return {"envs": rows, "domains": list_verifiers()}

    @api.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok" if "verification" in state else "starting",
            "workers": config.workers,
            "items_in_flight": metrics.in_flight,
            "version": prolong.__version__,
        }

    @api.get("/metrics", response_model=None, response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(config.workers), media_type="text/plain; version=0.0.4")

    app = _ASGIGuard(api, metrics, config.max_body_bytes, config.read_timeout, config.api_key)
    app.fastapi = api  # type: ignore[attr-defined]
    app.metrics = metrics  # type: ignore[attr-defined]
    return app


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if k != "ctx" and k != "url"}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return repr(x)


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prolong serve", description="HTTP reward server: POST /verify, POST /openrlhf, GET /envs, /health, /metrics.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; another address needs an API key or --insecure-no-auth)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port; the chosen one is printed)")
    p.add_argument("--workers", type=int, default=None, help="verification worker processes (default: the CPUs available)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per item before its worker is killed")
    p.add_argument("--max-items", type=int, default=DEFAULT_MAX_ITEMS, help="items per request")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20, help="request body size limit in MiB")
    p.add_argument("--max-response-chars", type=int, default=DEFAULT_MAX_RESPONSE_CHARS, help="characters per response")
    p.add_argument("--max-pending", type=int, default=DEFAULT_MAX_PENDING,
                   help="items accepted and not yet answered, all requests together (503 past it; a request with more is 413)")
    p.add_argument("--read-timeout", type=float, default=DEFAULT_READ_TIMEOUT,
                   help="seconds a client has to send a request's headers, and then its body (408 and the connection closed)")
    p.add_argument("--api-key-file", metavar="FILE",
                   help=f"require the key in FILE (its text, stripped) as 'Authorization: Bearer <key>' or 'X-Prolong-Key' "
                        f"on every endpoint but /health; ${API_KEY_ENV} gives it too")
    p.add_argument("--insecure-no-auth", action="store_true",
                   help="allow a non-loopback --host without an API key (e.g. behind a proxy that authenticates)")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="a module or .py file that registers tasks (repeatable)")
    p.add_argument("--label-domain", metavar="DOMAIN",
                   help="POST /openrlhf: the domain of labels that are bare answers, not 'prolong export openrlhf' "
                        "JSON (default $PROLONG_DOMAIN, else math)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--access-log", action="store_true", help="log every request")
    return p


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        return False


def read_api_key(path: str | None) -> str | None:
    """The key from ``--api-key-file`` (its text, stripped), else ``$PROLONG_API_KEY``, else None.

    Raises ValueError for an unreadable or empty file or an empty variable."""
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                key = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"--api-key-file {path}: cannot read it ({type(e).__name__})") from None
        if not key:
            raise ValueError(f"--api-key-file {path}: the file is empty")
        try:
            if os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH):
                print(f"prolong serve: warning: {path} is readable by other users (chmod 600 it)", file=sys.stderr)
        except OSError:
            pass
        return key
    key = os.environ.get(API_KEY_ENV)
    if key is None:
        return None
    key = key.strip()
    if not key:
        raise ValueError(f"${API_KEY_ENV} is set but empty")
    return key


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    import uvicorn

    workers = args.workers or cpu_count()
    # workers (and replacements of killed ones) fork from a server that already imported
    # prolong: a replacement is ready in milliseconds instead of re-importing it
    import multiprocessing

    multiprocessing.set_forkserver_preload(["prolong", "prolong.adapters.server"])
    if workers < 1 or args.timeout <= 0 or args.max_items < 1 or args.max_body_mb <= 0 or args.read_timeout <= 0 or args.max_pending < 1:
        print(
            "prolong serve: error: --workers, --timeout, --max-items, --max-body-mb, --max-pending and --read-timeout must be positive",
            file=sys.stderr,
        )
        return 2
    try:
        api_key = read_api_key(args.api_key_file)
        if args.label_domain is not None:
            import prolong  # noqa: F401 - registers the built-in domains
            from prolong.adapters.common import resolve_domain

            resolve_domain(args.label_domain)
    except ValueError as e:
        print(f"prolong serve: error: {e}", file=sys.stderr)
        return 2
    if api_key is None and not _is_loopback(args.host) and not args.insecure_no_auth:
        print(
            f"prolong serve: error: refusing to serve on {args.host} without an API key: anyone who can reach that "
            f"address could use this server. Give --api-key-file FILE (or set ${API_KEY_ENV}), bind 127.0.0.1 behind "
            "a reverse proxy, or pass --insecure-no-auth if the network is trusted. See docs/security.md.",
            file=sys.stderr,
        )
        return 2
    config = ServerConfig(
        workers=workers,
        timeout=args.timeout,
        max_body_bytes=int(args.max_body_mb * 2**20),
        max_items=args.max_items,
        max_response_chars=args.max_response_chars,
        max_pending=args.max_pending,
        imports=tuple(args.imports),
        read_timeout=args.read_timeout,
        api_key=api_key,
        label_domain=args.label_domain,
    )
    try:
        app = create_app(config)
    except (ImportError, FileNotFoundError) as e:
        print(f"prolong serve: error: {e}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it a keep-alive response waits ~40 ms
    # (Nagle vs delayed ACK), as uvicorn only sets it on sockets it binds itself
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        print(f"prolong serve: error: cannot bind {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=port,
            log_level=args.log_level,
            access_log=args.access_log,
            http=_guarded_protocol(config.read_timeout),
            # SIGTERM: stop accepting, let requests in flight finish (their items are
            # bounded by --timeout), then the lifespan stops the workers
            timeout_graceful_shutdown=config.timeout + THREAD_GRACE + 3,
        )
    )
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    auth = ", API key required" if api_key else ""

    async def announce() -> None:  # once the lifespan (worker warm-up) is done
        while not server.started:
            await asyncio.sleep(0.05)
        print(f"prolong serve: ready on http://{host}:{port} ({workers} verification workers{auth})", flush=True)

    async def serve() -> None:
        task = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            task.cancel()

    try:
        asyncio.run(serve())
    finally:
        close_all_pools()  # also when the lifespan never ran (a failed start)
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
