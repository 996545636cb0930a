"""The text layer every domain's answer extraction shares: the reasoning-section split.

Policy (one for every domain): a verifier judges what comes after the reasoning
section, i.e. the text after the last ``</think>``. A response that opens ``<think>``
and never closes it has no final answer: the model did not finish thinking, and
nothing inside its reasoning counts (a ``\\boxed{}`` there, an IFEval constraint met
there). A response without tags is all final answer.

    >>> split_reasoning("<think>maybe 3</think>The answer is 4.")
    ('<think>maybe 3', 'The answer is 4.')
    >>> split_reasoning("<think>maybe 3, or 4")
    ('<think>maybe 3, or 4', None)
    >>> final_text("The answer is 4.")
    'The answer is 4.'
"""

from __future__ import annotations

__all__ = ["THINK_OPEN", "THINK_CLOSE", "split_reasoning", "final_text", "UNCLOSED_REASONING"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
#: The note verifiers give when the reasoning section never closes.
UNCLOSED_REASONING = "the <think> block is never closed: the response has no final answer"


def split_reasoning(response: str) -> tuple[str, str | None]:
    """``(reasoning, final)``: the text up to the last ``</think>`` and the text after it.

    ``final`` is None when a ``<think>`` opens and no ``</think>`` follows (no final
    answer); with no tags at all the reasoning is empty and the whole response is final.
    """
    close = response.rfind(THINK_CLOSE)
    if close >= 0:
        return response[:close], response[close + len(THINK_CLOSE) :]
    if THINK_OPEN in response:
        return response, None
    return "", response


def final_text(response: str) -> str | None:
    """The part of ``response`` a verifier judges (see :func:`split_reasoning`), or None."""
    return split_reasoning(response)[1]
