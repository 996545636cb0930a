"""Full-marks answers for every entry, including the tasks whose gold answer is None.

Five reasoning-gym 0.1.25 tasks have no gold answer because many answers are right;
only their own checker can score them. A valid answer is built here for each, and
kept only if the task's scorer gives it full marks:

* boxnet: a plan that walks each box square by square (row first, then column) to the
  nearest free target of its color and onto it; one action per step.
* graph_color: ``metadata["possible_answer"]``, the coloring the generator made.
* propositional_logic: ``metadata["example_answer"]``, else a premise, else the
  conjunction of two premises (the first the checker accepts as a non-trivial
  consequence).
* rubiks_cube: the scramble undone (moves reversed and inverted), else
  ``metadata["example_correct_answer"]``. For cubes of size 4 and more the scramble
  uses layer moves ("2R", "1Rw") that reasoning-gym's own answer parser drops, so there
  may be no answer its checker accepts: then there is no reference.
* rush_hour: a breadth-first search over the board (at most a few thousand states for
  the puzzles reasoning-gym ships).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["reference_answer", "NO_GOLD_TASKS"]

NO_GOLD_TASKS = ("boxnet", "graph_color", "propositional_logic", "rubiks_cube", "rush_hour")


def _boxnet(entry: Mapping[str, Any]) -> Iterable[str]:
    state = entry["metadata"]["initial_state"]
    names: dict[tuple[float, float], str] = {}
    items: dict[tuple[float, float], list[str]] = {}
    for key, content in state.items():
        r, c = key.split("_")
        names[(float(r), float(c))] = f"{r}, {c}"
        items[(float(r), float(c))] = list(content)
    plan: list[dict[str, str]] = []
    boxes = sorted((sq, it) for sq, content in items.items() for it in content if it.startswith("box_"))
    for pos, box in boxes:
        color = box[4:]
        targets = [sq for sq, content in items.items() if f"target_{color}" in content]
        if not targets:
            continue
        goal = min(targets, key=lambda sq: (abs(sq[0] - pos[0]) + abs(sq[1] - pos[1]), sq))
        cur = pos
        while cur != goal:
            if cur[0] != goal[0]:
                nxt = (cur[0] + (1.0 if goal[0] > cur[0] else -1.0), cur[1])
            else:
                nxt = (cur[0], cur[1] + (1.0 if goal[1] > cur[1] else -1.0))
            plan.append({f"Agent[{names[cur]}]": f"move({box}, square[{names[nxt]}])"})
            items[cur].remove(box)
            items[nxt].append(box)
            cur = nxt
        plan.append({f"Agent[{names[cur]}]": f"move({box}, target_{color})"})
        items[cur].remove(box)
        items[cur].remove(f"target_{color}")
    yield json.dumps(plan)


def _graph_color(entry: Mapping[str, Any]) -> Iterable[str]:
    yield json.dumps(entry["metadata"]["possible_answer"])


def _propositional_logic(entry: Mapping[str, Any]) -> Iterable[str]:
    md = entry["metadata"]
    if md.get("example_answer"):
        yield md["example_answer"]
    premises = list(md.get("premises") or [])
    yield from premises
    for i in range(len(premises)):
        for j in range(i + 1, len(premises)):
            yield f"({premises[i]} ∧ {premises[j]})"


def _rubiks_cube(entry: Mapping[str, Any]) -> Iterable[str]:
    md = entry["metadata"]
    undo = []
    for move in reversed(md["scramble_moves"].split()):
        undo.append(move[:-1] if move.endswith("'") else move + "'")
    yield " ".join(undo)
    if md.get("example_correct_answer"):
        yield md["example_correct_answer"]


def _rush_hour(entry: Mapping[str, Any], max_states: int = 500_000) -> Iterable[str]:
    from reasoning_gym.games.rush_hour import BOARD_SIZE, TARGET, Board

    pieces = Board(entry["metadata"]["board_config"])._pieces  # index i is the letter chr(65 + i)
    n = BOARD_SIZE
    movable = [i for i, p in enumerate(pieces) if not p.fixed]
    walls = {p.position for p in pieces if p.fixed}

    def cells(i: int, pos: int) -> range:
        p = pieces[i]
        return range(pos, pos + p.size * p.stride, p.stride)

    start = tuple(p.position for p in pieces)
    parent: dict[tuple[int, ...], tuple[tuple[int, ...], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state[0] == TARGET:
            moves = []
            while parent[state] is not None:
                state, move = parent[state]  # type: ignore[misc]
                moves.append(move)
            yield " ".join(reversed(moves))
            return
        occupied = set(walls)
        for i in movable:
            occupied.update(cells(i, state[i]))
        for i in movable:
            p, pos = pieces[i], state[i]
            horizontal = p.stride == 1
            line_start = (pos // n) * n if horizontal else pos % n
            line_step = 1 if horizontal else n
            first = line_start
            last = line_start + (n - 1) * line_step
            for direction in (-1, 1):
                steps = 0
                while True:
                    steps += 1
                    head = pos + direction * steps * p.stride if direction < 0 else pos + (p.size - 1 + steps) * p.stride
                    if head < first or head > last or head in occupied:
                        break
                    new = list(state)
                    new[i] = pos + direction * steps * p.stride
                    nxt = tuple(new)
                    if nxt not in parent:
                        parent[nxt] = (state, f"{chr(65 + i)}{'+' if direction > 0 else '-'}{steps}")
                        if len(parent) > max_states:
                            return
                        queue.append(nxt)


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Iterable[str]]] = {
    "boxnet": _boxnet,
    "graph_color": _graph_color,
    "propositional_logic": _propositional_logic,
    "rubiks_cube": _rubiks_cube,
    "rush_hour": _rush_hour,
}


def reference_answer(
    entry: Mapping[str, Any], task: str | None = None, config: Mapping[str, Any] | None = None
) -> str | None:
    """The text of a full-marks answer to ``entry`` (goes inside ``<answer>...</answer>``).

    The gold answer when the entry has one; for the tasks without (``NO_GOLD_TASKS``)
    a constructed answer that the task's scorer accepts, or None if none was found.
    """
    from prolong.envs.reasoning_gym.guards import gold_problem
    from prolong.envs.reasoning_gym.verifier import ReasoningGymVerifier, entry_task

    gold = entry.get("answer")
    if gold is not None:
        return str(gold)
    task = task or entry_task(entry)
    build = _BUILDERS.get(task)
    if build is None or gold_problem(task, entry) is not None:  # no search over a hostile entry
        return None
    verifier = ReasoningGymVerifier(strict=True)
    try:
        for candidate in build(entry):
            if verifier.score_answer(candidate, entry, task=task, config=config).correct:
                return candidate
    except (KeyError, ValueError, TypeError, AttributeError):  # an entry without the fields a builder reads
        return None
    return None
