"""Start and stop a real ``prolong serve`` for the server tests (and the docs' serve blocks)."""

import os
import re
import select
import subprocess
import sys
import time

import pytest


def start_server(args, env=None, cwd=None):
    """``prolong serve ARGS`` on 127.0.0.1 (``--port 0`` unless ARGS name a port):
    ``(process, url)`` once it says it is ready, or the test fails with its stderr."""
    if "--port" not in args:
        args = ["--port", "0", *args]
    cmd = [sys.executable, "-m", "prolong.cli", "serve", "--host", "127.0.0.1", *args]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", **(env or {}))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 1.0)[0]:
            m = re.search(r"ready on (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            if m:
                return proc, m.group(1)
    proc.kill()
    pytest.fail(f"server did not start: {proc.stderr.read()[-3000:]}")


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
