"""``prolong serve``: an HTTP reward server (FastAPI + uvicorn).

    prolong serve [--host 127.0.0.1] [--port 8000] [--workers N] [--import my_tasks.py]

Endpoints:

* ``POST /verify`` with ``{"items": [{"env" | "domain", "response", "answer", "problem"?}]}``
  returns ``{"results": [...]}``, one entry per item in order: a verdict
  ``{"reward", "correct", "extracted", "reason", "details"}``, or ``{"error": "..."}``
  when the verifier crashed on that item (the other items are unaffected). An item
  that runs past ``--timeout`` gets a zero-reward ``"verifier timeout"`` verdict, as
  :func:`prolong.verify_batch` gives. ``problem`` is a ``{"prompt", "answer", "id"?,
  "metadata"?}`` object for verifiers that read more than the answer; its answer is
  used when ``answer`` is absent.
* ``GET /envs``: the registered envs and domains. ``GET /health``: ``{"status": "ok", ...}``.
* ``GET /metrics``: Prometheus text format (requests by path and status, items by
  domain and outcome, request and item latency histograms, items in flight).

Requests that are wrong get a 4xx whose ``error`` says what is wrong: 422 for a
malformed body, a missing or mistyped field, an unknown env or domain; 413 for a body
over ``--max-body-mb`` (default 64 MiB), more than ``--max-items`` items (default
4096) or a response over ``--max-response-chars`` (default 1,000,000 characters);
503 when more than ``--max-pending`` items (default 65536) are already waiting.

Verification never runs in the event loop: items go to ``--workers`` worker processes
(one :class:`prolong.pool.WorkerPool` of one process each, so a stuck item holds one
worker, not the batch), driven from a thread pool; verifiers with their own
``verify_batch`` (the code sandbox) run from a thread. ``--import`` loads modules or
``.py`` files that register tasks (``prolong.register_task``) in the server and in
every worker.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import importlib.util
import json
import os
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, StrictStr

from prolong.core import Problem, Reason, Verdict, as_verdict, coerce_problem, get_verifier, list_verifiers
from prolong.pool import CallError, CallTimeout, WorkerPool, cpu_count

__all__ = ["ServerConfig", "create_app", "main", "load_imports"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_ITEMS = 4096
DEFAULT_MAX_RESPONSE_CHARS = 1_000_000
DEFAULT_MAX_PENDING = 65536
DEFAULT_TIMEOUT = 30.0


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


def _verify_item(domain: str, response: str, answer: Any, problem: Problem | None) -> dict[str, Any]:
    return as_verdict(get_verifier(domain)(response, answer, problem)).to_dict()


def _ready() -> bool:
    return True


# --------------------------------------------------------------------------- verification


@dataclass
class _Job:
    domain: str
    response: str
    answer: Any
    problem: Problem | None
    future: Any  # asyncio.Future of the event loop
    loop: Any


class Verification:
    """Worker processes fed by slot threads; the event loop only awaits futures.

    Each of ``workers`` slots owns a one-process :class:`~prolong.pool.WorkerPool` and a
    thread. Items of all requests wait in one queue (a request's items enter together);
    a slot takes its share of what is waiting (``ceil(waiting / slots)``, at most 32)
    and runs it through its worker, each item under its own deadline. Batching across requests keeps the
    per-item cost low; a stuck item holds one slot, never the others.
    """

    MAX_TAKE = 32

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        init = functools.partial(_worker_init, tuple(config.imports))
        self._pools = [WorkerPool(1, memory_limit_mb=config.memory_limit_mb, initializer=init) for _ in range(config.workers)]
        self._pending: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._slots = [threading.Thread(target=self._slot, args=(p,), name=f"prolong-slot-{k}", daemon=True) for k, p in enumerate(self._pools)]
        self._batch_threads = ThreadPoolExecutor(max_workers=max(2, config.workers), thread_name_prefix="prolong-batch")
        self._batch_domains: dict[str, bool] = {}
        self._started = False

    def warm(self, timeout: float = 600.0) -> None:
        """Start every worker (imports included) before the first request."""
        with ThreadPoolExecutor(max_workers=len(self._pools)) as ex:
            list(ex.map(lambda p: p.map(_ready, [()], timeout=timeout), self._pools))
        if not self._started:
            for t in self._slots:
                t.start()
            self._started = True

    def submit(self, jobs: list[_Job]) -> None:
        """Queue jobs (all of a request at once, so the slots split them evenly)."""
        with self._cond:
            self._pending.extend(jobs)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for t in self._slots:
            if t.is_alive():
                t.join(timeout=self.config.timeout + 5)
        self._batch_threads.shutdown(wait=False, cancel_futures=True)
        for p in self._pools:
            p.close()

    def _take(self) -> list[_Job] | None:
        with self._cond:
            while not self._pending and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            share = min(self.MAX_TAKE, -(-len(self._pending) // len(self._slots)))
            return [self._pending.popleft() for _ in range(share)]

    def _slot(self, pool: WorkerPool) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            t0 = time.perf_counter()
            try:
                outs = pool.map(_verify_item, [(j.domain, j.response, j.answer, j.problem) for j in jobs], timeout=self.config.timeout)
                dt = (time.perf_counter() - t0) / len(jobs)
                results = []
                replaced = False  # a killed worker's replacement starts while the next item's deadline runs
                for job, out in zip(jobs, outs):
                    if replaced and isinstance(out, CallTimeout):  # retry once on a started worker
                        pool.map(_ready, [()], timeout=600)
                        (out,) = pool.map(_verify_item, [(job.domain, job.response, job.answer, job.problem)], timeout=self.config.timeout)
                    replaced = replaced or isinstance(out, (CallTimeout, CallError))
                    results.append((_as_result(out), dt))
                if replaced:
                    pool.map(_ready, [()], timeout=600)
            except Exception as e:  # noqa: BLE001 - never leave a request waiting
                results = [({"error": f"server error: {type(e).__name__}: {e}"}, 0.0)] * len(jobs)
            by_loop: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
            for job, res in zip(jobs, results):
                by_loop[job.loop].append((job.future, res))
            for loop, done in by_loop.items():  # one wake-up of the event loop per batch
                loop.call_soon_threadsafe(_set_results, done)

    def _run_batch(self, domain: str, items: list[tuple[str, Any, Problem | None]]) -> list[tuple[dict[str, Any], float]]:
        t0 = time.perf_counter()
        verifier = get_verifier(domain)
        try:
            verdicts = verifier.verify_batch([r for r, _, _ in items], [a for _, a, _ in items], [p for _, _, p in items])
            outs: list[dict[str, Any]] = [as_verdict(v).to_dict() for v in verdicts]
        except Exception as e:  # noqa: BLE001 - one domain's crash is its items' error
            outs = [{"error": f"{type(e).__name__}: {e}"[-2000:]}] * len(items)
        dt = (time.perf_counter() - t0) / max(len(items), 1)
        return [(o, dt) for o in outs]

    def has_own_batch(self, domain: str) -> bool:
        if domain not in self._batch_domains:
            try:
                self._batch_domains[domain] = hasattr(get_verifier(domain), "verify_batch")
            except Exception:  # an import failure shows up as the items' error in the workers
                self._batch_domains[domain] = False
        return self._batch_domains[domain]

    async def verify(
        self, domains: list[str], responses: list[str], answers: list[Any], problems: list[Problem | None]
    ) -> list[tuple[dict[str, Any], float]]:
        """``(result dict, seconds in the worker)`` per item, in order."""
        loop = asyncio.get_running_loop()
        n = len(responses)
        results: list[Any] = [None] * n
        for d in set(domains) - set(self._batch_domains):  # a first use may import the domain's module
            await loop.run_in_executor(None, self.has_own_batch, d)
        futures = []
        jobs = []
        batched: dict[str, list[int]] = defaultdict(list)
        for i in range(n):
            if self._batch_domains[domains[i]]:
                batched[domains[i]].append(i)
            else:
                fut = loop.create_future()
                jobs.append(_Job(domains[i], responses[i], answers[i], problems[i], fut, loop))
                futures.append((i, fut))
        if jobs:
            self.submit(jobs)
        batch_waits = [
            (idx, loop.run_in_executor(self._batch_threads, self._run_batch, d, [(responses[i], answers[i], problems[i]) for i in idx]))
            for d, idx in batched.items()
        ]
        for i, fut in futures:
            results[i] = await fut
        for idx, bfut in batch_waits:
            for i, out in zip(idx, await bfut):
                results[i] = out
        return results


def _set_results(done: list[tuple[Any, Any]]) -> None:
    for future, value in done:
        if not future.done():  # a client that went away cancelled it
            future.set_result(value)


def _as_result(out: Any) -> dict[str, Any]:
    if isinstance(out, CallTimeout):
        return Verdict.wrong(Reason.TIMEOUT, seconds=out.seconds).to_dict()
    if isinstance(out, CallError):
        return {"error": out.message.strip()[-2000:]}
    return out


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
    domain: Optional[StrictStr] = None
    response: StrictStr
    answer: Any = None
    problem: Optional[dict[str, Any]] = None


class VerifyRequest(BaseModel):
    """The body of ``POST /verify``."""

    model_config = ConfigDict(extra="forbid")
    items: list[VerifyItem]


class _ASGIGuard:
    """Counts requests and their latency per route, and caps the body size (413)."""

    _PATHS = frozenset({"/verify", "/envs", "/health", "/metrics"})

    def __init__(self, app: Any, metrics: Metrics, max_body_bytes: int) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes

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
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await self._too_large(send_wrapped, int(length))
                return
            received = 0

            async def receive_limited() -> dict[str, Any]:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        # raised while FastAPI reads the body: its handler answers 413
                        from starlette.exceptions import HTTPException

                        raise HTTPException(413, self._too_large_message(f"more than {self.max_body_bytes}"))
                return message

            await self.app(scope, receive_limited, send_wrapped)
        finally:
            self.metrics.requests[(label, status["code"])] += 1
            self.metrics.request_seconds[label].observe(time.perf_counter() - t0)

    def _too_large_message(self, size: int | str) -> str:
        return f"request body of {size} bytes is over the limit of {self.max_body_bytes} bytes (--max-body-mb)"

    async def _too_large(self, send: Any, size: int) -> None:
        body = json.dumps({"error": self._too_large_message(size)}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


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
            verification.close()

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
                problems.append(
                    'the body must be a JSON object {"items": [...]} sent with Content-Type: application/json '
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

    def _domain_of(i: int, item: VerifyItem) -> str:
        from prolong.adapters.common import resolve_domain
        from prolong.env import domain_of_env

        if item.env is None and item.domain is None:
            raise HTTPException(422, f"items[{i}]: give 'env' (an env id) or 'domain'")
        env_domain = None
        if item.env is not None:
            env_domain = domain_of_env(item.env)
            if env_domain is None:
                raise HTTPException(422, f"items[{i}].env: unknown env {item.env!r}; GET /envs lists them")
        if item.domain is not None:
            try:
                domain = resolve_domain(item.domain)
            except ValueError:
                raise HTTPException(
                    422, f"items[{i}].domain: unknown domain {item.domain!r}; known: {', '.join(list_verifiers())}"
                ) from None
            if env_domain is not None and env_domain != domain:
                raise HTTPException(422, f"items[{i}]: env {item.env!r} is domain {env_domain!r}, not {domain!r}")
            return domain
        assert env_domain is not None
        return env_domain

    @api.post("/verify")
    async def verify(req: VerifyRequest) -> Response:
        items = req.items
        if len(items) > config.max_items:
            raise HTTPException(413, f"{len(items)} items in one request; the limit is {config.max_items} (--max-items)")
        domains, responses, answers, problems = [], [], [], []
        for i, item in enumerate(items):
            domain = _domain_of(i, item)
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
            domains.append(domain)
            responses.append(item.response)
            answers.append(answer)
            problems.append(problem)
        if metrics.in_flight + len(items) > config.max_pending:
            raise HTTPException(503, f"{metrics.in_flight} items are already waiting; retry later", headers={"Retry-After": "1"})
        metrics.in_flight += len(items)
        try:
            outs = await state["verification"].verify(domains, responses, answers, problems)
        finally:
            metrics.in_flight -= len(items)
        results = []
        for domain, (result, seconds) in zip(domains, outs):
            metrics.items[(domain, _outcome(result))] += 1
            metrics.item_seconds.observe(seconds)
            results.append(result)
        body = json.dumps({"results": results}, ensure_ascii=False, default=str)
        return Response(content=body.encode("utf-8"), media_type="application/json")

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

    @api.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(config.workers), media_type="text/plain; version=0.0.4")

    app = _ASGIGuard(api, metrics, config.max_body_bytes)
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
    p = argparse.ArgumentParser(prog="prolong serve", description="HTTP reward server: POST /verify, GET /envs, /health, /metrics.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port; the chosen one is printed)")
    p.add_argument("--workers", type=int, default=None, help="verification worker processes (default: the CPUs available)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per item before its worker is killed")
    p.add_argument("--max-items", type=int, default=DEFAULT_MAX_ITEMS, help="items per request")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20, help="request body size limit in MiB")
    p.add_argument("--max-response-chars", type=int, default=DEFAULT_MAX_RESPONSE_CHARS, help="characters per response")
    p.add_argument("--max-pending", type=int, default=DEFAULT_MAX_PENDING, help="items waiting before 503")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="a module or .py file that registers tasks (repeatable)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--access-log", action="store_true", help="log every request")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    import uvicorn

    workers = args.workers or cpu_count()
    # workers (and replacements of killed ones) fork from a server that already imported
    # prolong: a replacement is ready in milliseconds instead of re-importing it
    import multiprocessing

    multiprocessing.set_forkserver_preload(["prolong", "prolong.adapters.server"])
    if workers < 1 or args.timeout <= 0 or args.max_items < 1 or args.max_body_mb <= 0:
        print("prolong serve: error: --workers, --timeout, --max-items and --max-body-mb must be positive", file=sys.stderr)
        return 2
    config = ServerConfig(
        workers=workers,
        timeout=args.timeout,
        max_body_bytes=int(args.max_body_mb * 2**20),
        max_items=args.max_items,
        max_response_chars=args.max_response_chars,
        max_pending=args.max_pending,
        imports=tuple(args.imports),
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
        uvicorn.Config(app, host=args.host, port=port, log_level=args.log_level, access_log=args.access_log, timeout_graceful_shutdown=5)
    )
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host

    async def announce() -> None:  # once the lifespan (worker warm-up) is done
        while not server.started:
            await asyncio.sleep(0.05)
        print(f"prolong serve: ready on http://{host}:{port} ({workers} verification workers)", flush=True)

    async def serve() -> None:
        task = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            task.cancel()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
