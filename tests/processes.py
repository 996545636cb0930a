"""The process table, read from /proc: what the shutdown tests count and wait for."""

import os
import time


def proc_table():
    """{pid: (ppid, state)} of every process."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(d)] = (int(fields[1]), fields[0])
        except (OSError, IndexError, ValueError):
            pass
    return table


def descendants(pid):
    """Every process below ``pid`` (children, their children, ...)."""
    table = proc_table()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, (ppid, _) in table.items() if ppid == p]
        out += kids
        todo += kids
    return out


def alive(pids):
    """The ``pids`` still running (zombies count as gone)."""
    table = proc_table()
    return [p for p in pids if p in table and table[p][1] not in ("Z", "X")]


def wait_gone(pids, seconds):
    """Wait up to ``seconds`` for ``pids`` to end; the ones still alive."""
    end = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < end:
        time.sleep(0.02)
    return alive(pids)
