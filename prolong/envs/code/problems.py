"""The built-in code problems: statements, reference solutions and test-input generators.

The expected outputs are not written here: ``python -m prolong.envs.code.problems``
runs every reference solution on its inputs in the sandbox and writes ``problems.json``
(committed; the env reads only that file). A test checks that every reference passes its
own tests in the sandbox.

Each problem: an id, a title, a difficulty (easy / medium / hard), a statement, the
test convention (``stdio``: read stdin, print; ``call``: a function ``fn_name`` returning
a JSON value), a reference solution and ``gen(rng) -> inputs`` (stdin texts, or
argument lists). Every fifth problem is in the validation split.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from textwrap import dedent
from typing import Any

__all__ = ["Spec", "SPECS", "build", "main"]


@dataclass(frozen=True)
class Spec:
    slug: str
    title: str
    difficulty: str
    statement: str
    reference: str
    gen: Callable[[random.Random], list[Any]]
    mode: str = "stdio"
    fn_name: str | None = None
    signature: str | None = None


SPECS: list[Spec] = []


def stdio(slug: str, title: str, difficulty: str, statement: str, reference: str):
    def register(gen: Callable[[random.Random], list[str]]) -> Callable[[random.Random], list[str]]:
        SPECS.append(Spec(slug, title, difficulty, dedent(statement).strip(), dedent(reference).strip() + "\n", gen))
        return gen

    return register


def call(slug: str, title: str, difficulty: str, statement: str, signature: str, reference: str):
    fn_name = signature.split("(")[0].strip()

    def register(gen: Callable[[random.Random], list[list[Any]]]) -> Callable[[random.Random], list[list[Any]]]:
        SPECS.append(
            Spec(slug, title, difficulty, dedent(statement).strip(), dedent(reference).strip() + "\n", gen, "call", fn_name, signature)
        )
        return gen

    return register


def _ints(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(n)]


def _line(xs: list[Any]) -> str:
    return " ".join(map(str, xs))


def _word(rng: random.Random, n: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# =========================================================================== stdin / stdout: easy


@stdio(
    "sum-of-numbers", "Sum of numbers", "easy",
    """
    Given n integers, print their sum.

    Input: the first line holds n (1 <= n <= 1000); the second line holds n integers, each
    between -10^9 and 10^9.
    Output: one integer, the sum.
    """,
    """
    n = int(input())
    print(sum(map(int, input().split())))
    """,
)
def _(rng):
    out = ["1\n5\n", "3\n-1 -2 -3\n"]
    for n in (5, 50, 1000):
        out.append(f"{n}\n{_line(_ints(rng, n, -10**9, 10**9))}\n")
    return out


@stdio(
    "range-of-list", "Largest minus smallest", "easy",
    """
    Given n integers, print the difference between the largest and the smallest.

    Input: n (1 <= n <= 10^5) on the first line, then n integers (|a_i| <= 10^9) on the second.
    Output: max - min.
    """,
    """
    input()
    a = list(map(int, input().split()))
    print(max(a) - min(a))
    """,
)
def _(rng):
    out = ["1\n7\n", "4\n3 3 3 3\n", "2\n-1000000000 1000000000\n"]
    for n in (10, 1000, 8000):
        out.append(f"{n}\n{_line(_ints(rng, n, -10**9, 10**9))}\n")
    return out


@stdio(
    "count-vowels", "Count the vowels", "easy",
    """
    Count the vowels (a, e, i, o, u, in either case) in one line of text.

    Input: one line of at most 1000 printable ASCII characters.
    Output: the number of vowels.
    """,
    """
    s = input()
    print(sum(c in "aeiouAEIOU" for c in s))
    """,
)
def _(rng):
    out = ["Hello World\n", "xyz\n", "AEIOU aeiou\n"]
    for n in (10, 100, 1000):
        out.append(_word(rng, n, "abcdefghijklmnopqrstuvwxyzAEIOUBCD ,.!") + "\n")
    return out


@stdio(
    "reverse-words", "Reverse the words", "easy",
    """
    Print the words of a line in reverse order, separated by single spaces.

    Input: one line with 1 to 100 words of lowercase letters separated by spaces.
    Output: the words in reverse order.
    """,
    """
    print(" ".join(input().split()[::-1]))
    """,
)
def _(rng):
    out = ["hello\n", "the quick brown fox\n"]
    for n in (3, 10, 100):
        out.append(" ".join(_word(rng, rng.randint(1, 8)) for _ in range(n)) + "\n")
    return out


@stdio(
    "fizzbuzz", "FizzBuzz", "easy",
    """
    For every i from 1 to n print one line: "FizzBuzz" if i is divisible by 15, "Fizz" if by 3,
    "Buzz" if by 5, otherwise i itself.

    Input: n (1 <= n <= 10^4).
    Output: n lines.
    """,
    """
    n = int(input())
    out = []
    for i in range(1, n + 1):
        out.append("FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i))
    print("\\n".join(out))
    """,
)
def _(rng):
    return ["1\n", "15\n", "16\n", f"{rng.randint(20, 100)}\n", "10000\n"]


@stdio(
    "palindrome-check", "Is it a palindrome?", "easy",
    """
    A string is a palindrome if it reads the same backwards. For each of t strings print YES
    if it is a palindrome and NO otherwise.

    Input: t (1 <= t <= 100), then t lines, each a string of 1 to 1000 lowercase letters.
    Output: t lines, YES or NO.
    """,
    """
    t = int(input())
    for _ in range(t):
        s = input().strip()
        print("YES" if s == s[::-1] else "NO")
    """,
)
def _(rng):
    def case():
        w = _word(rng, rng.randint(1, 20), "abc")
        return w + w[::-1][rng.randint(0, 1):] if rng.random() < 0.5 else w

    out = ["3\na\nab\naba\n"]
    for t in (5, 20, 100):
        out.append(f"{t}\n" + "".join(case() + "\n" for _ in range(t)))
    return out


@stdio(
    "temperature-table", "Celsius to Fahrenheit", "easy",
    """
    Convert each temperature from Celsius to Fahrenheit (F = C * 9 / 5 + 32) and print it
    with exactly two digits after the decimal point.

    Input: n (1 <= n <= 100), then n real numbers (one per line), each between -273.15 and 10^4.
    Output: n lines, the Fahrenheit values.
    """,
    """
    n = int(input())
    for _ in range(n):
        c = float(input())
        print(f"{c * 9 / 5 + 32:.2f}")
    """,
)
def _(rng):
    out = ["2\n0\n100\n", "1\n-40\n"]
    for n in (5, 30, 100):
        out.append(f"{n}\n" + "".join(f"{rng.uniform(-273.15, 10000):.3f}\n" for _ in range(n)))
    return out


@stdio(
    "factorial-mod", "Factorial modulo a prime", "easy",
    """
    Print n! modulo 1000000007.

    Input: n (0 <= n <= 10^6).
    Output: n! mod 1000000007.
    """,
    """
    n = int(input())
    r = 1
    M = 10**9 + 7
    for i in range(2, n + 1):
        r = r * i % M
    print(r)
    """,
)
def _(rng):
    return ["0\n", "1\n", "5\n", "20\n", f"{rng.randint(1000, 100000)}\n", "1000000\n"]


@stdio(
    "gcd-and-lcm", "GCD and LCM", "easy",
    """
    For each pair of positive integers print their greatest common divisor and their least
    common multiple, separated by a space.

    Input: t (1 <= t <= 1000), then t lines with two integers a, b (1 <= a, b <= 10^9).
    Output: t lines "gcd lcm".
    """,
    """
    from math import gcd
    t = int(input())
    for _ in range(t):
        a, b = map(int, input().split())
        g = gcd(a, b)
        print(g, a // g * b)
    """,
)
def _(rng):
    out = ["2\n12 18\n7 13\n", "1\n1 1\n"]
    for t in (10, 100, 1000):
        rows = []
        for _ in range(t):
            g = rng.randint(1, 1000)
            rows.append(f"{g * rng.randint(1, 10**6)} {g * rng.randint(1, 10**6)}\n")
        out.append(f"{t}\n" + "".join(rows))
    return out


@stdio(
    "second-largest", "Second largest distinct value", "easy",
    """
    Print the second largest distinct value among n integers, or -1 if all values are equal.

    Input: n (1 <= n <= 10^5), then n integers between 0 and 10^9.
    Output: the second largest distinct value, or -1.
    """,
    """
    input()
    a = sorted(set(map(int, input().split())))
    print(a[-2] if len(a) > 1 else -1)
    """,
)
def _(rng):
    out = ["1\n5\n", "3\n4 4 4\n", "5\n1 2 3 4 5\n", "4\n9 9 8 8\n"]
    for n in (100, 8000):
        out.append(f"{n}\n{_line(_ints(rng, n, 0, 10**9))}\n")
    return out


@stdio(
    "most-frequent-word", "Most frequent word", "easy",
    """
    Print the word that occurs most often in the text, and how many times; if several words
    tie, print the alphabetically smallest of them.

    Input: one line of 1 to 10^4 lowercase words separated by spaces.
    Output: the word and its count, separated by a space.
    """,
    """
    from collections import Counter
    c = Counter(input().split())
    best = min(c.items(), key=lambda kv: (-kv[1], kv[0]))
    print(best[0], best[1])
    """,
)
def _(rng):
    out = ["b a b a c\n", "hello\n"]
    for n in (10, 200, 10000):
        vocab = [_word(rng, rng.randint(1, 4), "abcde") for _ in range(max(3, n // 10))]
        out.append(" ".join(rng.choice(vocab) for _ in range(n)) + "\n")
    return out


@stdio(
    "leap-years", "Counting leap years", "easy",
    """
    A year is a leap year if it is divisible by 4, except years divisible by 100 that are not
    divisible by 400. Count the leap years y with a <= y <= b.

    Input: two integers a and b (1 <= a <= b <= 10^18).
    Output: the number of leap years in [a, b].
    """,
    """
    a, b = map(int, input().split())
    f = lambda y: y // 4 - y // 100 + y // 400
    print(f(b) - f(a - 1))
    """,
)
def _(rng):
    out = ["1 4\n", "1900 1900\n", "2000 2000\n", "1 400\n"]
    for _ in range(3):
        a = rng.randint(1, 10**18)
        out.append(f"{a} {rng.randint(a, 10**18)}\n")
    return out


@stdio(
    "digital-root", "Digital root", "easy",
    """
    Repeatedly replace a number by the sum of its decimal digits until one digit is left;
    print that digit for each input number.

    Input: t (1 <= t <= 100), then t lines, each a non-negative integer with at most 1000 digits.
    Output: t lines, the digital roots.
    """,
    """
    t = int(input())
    for _ in range(t):
        s = input().strip()
        while len(s) > 1:
            s = str(sum(map(int, s)))
        print(s)
    """,
)
def _(rng):
    out = ["3\n0\n9\n38\n"]
    for t in (10, 100):
        out.append(f"{t}\n" + "".join(str(rng.randint(0, 10 ** rng.randint(1, 1000))) + "\n" for _ in range(t)))
    return out


@stdio(
    "triangle-type", "Kind of triangle", "easy",
    """
    Classify each triple of side lengths: print "invalid" if they do not form a triangle of
    positive area, otherwise "equilateral", "isosceles" or "scalene".

    Input: t (1 <= t <= 1000), then t lines with three integers between 1 and 10^9.
    Output: t lines.
    """,
    """
    t = int(input())
    for _ in range(t):
        a, b, c = sorted(map(int, input().split()))
        if a + b <= c:
            print("invalid")
        elif a == c:
            print("equilateral")
        elif a == b or b == c:
            print("isosceles")
        else:
            print("scalene")
    """,
)
def _(rng):
    out = ["4\n3 3 3\n3 4 5\n2 2 3\n1 2 3\n"]
    for t in (20, 1000):
        out.append(f"{t}\n" + "".join(_line(_ints(rng, 3, 1, 6)) + "\n" for _ in range(t)))
    return out


@stdio(
    "running-average", "Running average", "easy",
    """
    After reading each of n numbers print the average of the numbers read so far, rounded
    to 3 digits after the decimal point.

    Input: n (1 <= n <= 10^4), then n integers (|a_i| <= 10^6) on one line.
    Output: n lines.
    """,
    """
    n = int(input())
    s = 0
    out = []
    for i, x in enumerate(map(int, input().split()), 1):
        s += x
        out.append(f"{s / i:.3f}")
    print("\\n".join(out))
    """,
)
def _(rng):
    out = ["3\n1 2 3\n", "1\n-5\n"]
    for n in (10, 1000, 5000):
        out.append(f"{n}\n{_line(_ints(rng, n, -10**6, 10**6))}\n")
    return out


# =========================================================================== stdin / stdout: medium


@stdio(
    "range-sum-queries", "Range sum queries", "medium",
    """
    Answer q queries "l r": the sum of a_l + ... + a_r (1-based, inclusive).

    Input: n and q (1 <= n, q <= 10^5); then n integers (|a_i| <= 10^9); then q lines "l r"
    with 1 <= l <= r <= n.
    Output: q lines, the sums.
    """,
    """
    import sys
    data = sys.stdin.buffer.read().split()
    n, q = int(data[0]), int(data[1])
    pre = [0] * (n + 1)
    for i in range(n):
        pre[i + 1] = pre[i] + int(data[2 + i])
    out = []
    p = 2 + n
    for _ in range(q):
        l, r = int(data[p]), int(data[p + 1])
        p += 2
        out.append(pre[r] - pre[l - 1])
    print("\\n".join(map(str, out)))
    """,
)
def _(rng):
    out = ["3 2\n1 2 3\n1 3\n2 2\n"]
    for n, q in ((10, 10), (1000, 1000), (6000, 6000)):
        rows = []
        for _ in range(q):
            l = rng.randint(1, n)
            rows.append(f"{l} {rng.randint(l, n)}\n")
        out.append(f"{n} {q}\n{_line(_ints(rng, n, -10**9, 10**9))}\n" + "".join(rows))
    return out


@stdio(
    "balanced-brackets", "Balanced brackets", "medium",
    """
    For each string of brackets ()[]{} print YES if it is balanced (every bracket closed by the
    matching kind, properly nested) and NO otherwise.

    Input: t (1 <= t <= 100), then t lines, each 1 to 10^4 bracket characters.
    Output: t lines, YES or NO.
    """,
    """
    t = int(input())
    pair = {")": "(", "]": "[", "}": "{"}
    for _ in range(t):
        st = []
        ok = True
        for ch in input().strip():
            if ch in "([{":
                st.append(ch)
            elif not st or st.pop() != pair[ch]:
                ok = False
                break
        print("YES" if ok and not st else "NO")
    """,
)
def _(rng):
    def balanced(n):
        if n == 0:
            return ""
        k = rng.randrange(0, n)
        o, c = rng.choice(["()", "[]", "{}"])
        return o + balanced(k) + c + balanced(n - 1 - k)

    out = ["5\n()\n([)]\n{[]}\n(\n)(\n"]
    for t in (20, 100):
        rows = []
        for _ in range(t):
            s = balanced(rng.randint(1, 40))
            if rng.random() < 0.4:
                i = rng.randrange(len(s))
                s = s[:i] + rng.choice("()[]{}") + s[i + 1 :]
            rows.append(s + "\n")
        out.append(f"{t}\n" + "".join(rows))
    return out


@stdio(
    "longest-increasing-subsequence", "Longest increasing subsequence", "medium",
    """
    Print the length of the longest strictly increasing subsequence of the sequence.

    Input: n (1 <= n <= 10^5), then n integers (|a_i| <= 10^9).
    Output: the length.
    """,
    """
    from bisect import bisect_left
    input()
    tails = []
    for x in map(int, input().split()):
        i = bisect_left(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    print(len(tails))
    """,
)
def _(rng):
    out = ["1\n5\n", "5\n5 4 3 2 1\n", "6\n1 3 2 4 3 5\n", "4\n2 2 2 2\n"]
    for n, hi in ((100, 50), (2000, 10**9), (8000, 10**9)):
        out.append(f"{n}\n{_line(_ints(rng, n, -hi, hi))}\n")
    return out


@stdio(
    "count-islands", "Counting islands", "medium",
    """
    A grid has land (#) and water (.). An island is a group of land cells connected through
    shared sides. Count the islands.

    Input: h and w (1 <= h, w <= 500), then h lines of w characters.
    Output: the number of islands.
    """,
    """
    import sys
    data = sys.stdin.read().split()
    h, w = int(data[0]), int(data[1])
    g = [list(row) for row in data[2 : 2 + h]]
    count = 0
    for i in range(h):
        for j in range(w):
            if g[i][j] == "#":
                count += 1
                g[i][j] = "."
                stack = [(i, j)]
                while stack:
                    a, b = stack.pop()
                    for x, y in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                        if 0 <= x < h and 0 <= y < w and g[x][y] == "#":
                            g[x][y] = "."
                            stack.append((x, y))
    print(count)
    """,
)
def _(rng):
    out = ["3 4\n#..#\n#..#\n.##.\n", "1 1\n.\n"]
    for h, w, p in ((5, 5, 0.4), (50, 60, 0.45), (200, 200, 0.5)):
        out.append(f"{h} {w}\n" + "".join("".join("#" if rng.random() < p else "." for _ in range(w)) + "\n" for _ in range(h)))
    return out


@stdio(
    "grid-shortest-path", "Shortest path in a maze", "medium",
    """
    A maze has free cells (.) and walls (#). Moving up, down, left or right one free cell costs
    one step. Print the fewest steps from the top-left cell to the bottom-right cell, or -1 if
    it cannot be reached (or either of them is a wall).

    Input: h and w (1 <= h, w <= 300), then h lines of w characters.
    Output: the number of steps, or -1.
    """,
    """
    import sys
    from collections import deque
    data = sys.stdin.read().split()
    h, w = int(data[0]), int(data[1])
    g = data[2 : 2 + h]
    if g[0][0] == "#" or g[h - 1][w - 1] == "#":
        print(-1)
        raise SystemExit
    dist = [[-1] * w for _ in range(h)]
    dist[0][0] = 0
    q = deque([(0, 0)])
    while q:
        a, b = q.popleft()
        for x, y in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
            if 0 <= x < h and 0 <= y < w and g[x][y] == "." and dist[x][y] < 0:
                dist[x][y] = dist[a][b] + 1
                q.append((x, y))
    print(dist[h - 1][w - 1])
    """,
)
def _(rng):
    out = ["2 2\n..\n..\n", "1 1\n.\n", "2 2\n.#\n#.\n"]
    for h, w, p in ((10, 10, 0.2), (100, 80, 0.3), (150, 150, 0.25)):
        rows = ["".join("#" if rng.random() < p else "." for _ in range(w)) for _ in range(h)]
        rows[0] = "." + rows[0][1:]
        rows[-1] = rows[-1][:-1] + "."
        out.append(f"{h} {w}\n" + "".join(r + "\n" for r in rows))
    return out


@stdio(
    "coin-change", "Fewest coins", "medium",
    """
    With unlimited coins of the given values, print the fewest coins that sum to exactly s,
    or -1 if s cannot be made.

    Input: n and s (1 <= n <= 100, 0 <= s <= 10^4), then n distinct coin values (1 to 10^4).
    Output: the fewest number of coins, or -1.
    """,
    """
    n, s = map(int, input().split())
    coins = list(map(int, input().split()))
    INF = float("inf")
    best = [0] + [INF] * s
    for v in range(1, s + 1):
        for c in coins:
            if c <= v and best[v - c] + 1 < best[v]:
                best[v] = best[v - c] + 1
    print(best[s] if best[s] != INF else -1)
    """,
)
def _(rng):
    out = ["3 11\n1 2 5\n", "1 3\n2\n", "2 0\n3 7\n"]
    for n, s in ((3, 100), (10, 5000), (100, 10000)):
        out.append(f"{n} {s}\n{_line(rng.sample(range(2, 10001), n))}\n")
    return out


@stdio(
    "knapsack", "0/1 knapsack", "medium",
    """
    Choose items (each at most once) with total weight at most W to maximise their total value.

    Input: n and W (1 <= n <= 100, 1 <= W <= 10^4), then n lines "weight value" (1 <= weight <= 10^4,
    0 <= value <= 10^6).
    Output: the largest total value.
    """,
    """
    n, W = map(int, input().split())
    best = [0] * (W + 1)
    for _ in range(n):
        w, v = map(int, input().split())
        for c in range(W, w - 1, -1):
            if best[c - w] + v > best[c]:
                best[c] = best[c - w] + v
    print(best[W])
    """,
)
def _(rng):
    out = ["3 50\n10 60\n20 100\n30 120\n", "1 1\n2 5\n"]
    for n, W in ((10, 100), (50, 1000), (100, 10000)):
        out.append(f"{n} {W}\n" + "".join(f"{rng.randint(1, W // 2 + 1)} {rng.randint(0, 10**6)}\n" for _ in range(n)))
    return out


@stdio(
    "count-primes", "Counting primes", "medium",
    """
    For each query n print how many primes are at most n.

    Input: t (1 <= t <= 10^4), then t integers n (0 <= n <= 10^6), one per line.
    Output: t lines.
    """,
    """
    import sys
    data = sys.stdin.read().split()
    qs = list(map(int, data[1:]))
    N = max(qs) + 1
    sieve = bytearray([1]) * (N + 1)
    sieve[0:2] = b"\\x00\\x00"
    for i in range(2, int(N ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    pref = [0] * (N + 1)
    c = 0
    for i in range(N + 1):
        c += sieve[i]
        pref[i] = c
    print("\\n".join(str(pref[q]) for q in qs))
    """,
)
def _(rng):
    out = ["4\n0\n1\n2\n10\n", "1\n1000000\n"]
    for t in (10, 2000):
        out.append(f"{t}\n" + "".join(f"{rng.randint(0, 10**6)}\n" for _ in range(t)))
    return out


@stdio(
    "run-length-encoding", "Run-length encoding", "medium",
    """
    Compress a string by replacing each maximal run of one character by the character followed
    by the run's length (the length is written even when it is 1).

    Input: one line of 1 to 10^5 lowercase letters.
    Output: the encoded string.
    """,
    """
    s = input().strip()
    out = []
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out.append(f"{s[i]}{j - i}")
        i = j
    print("".join(out))
    """,
)
def _(rng):
    out = ["aaabccdddd\n", "a\n", "abc\n"]
    for n in (50, 1000, 20000):
        out.append(_word(rng, n, "aaab") + "\n")
    return out


@stdio(
    "pairs-with-sum", "Pairs with a given sum", "medium",
    """
    Count the pairs of positions i < j with a_i + a_j = k.

    Input: n and k (1 <= n <= 10^5, |k| <= 2*10^9), then n integers (|a_i| <= 10^9).
    Output: the number of pairs.
    """,
    """
    from collections import Counter
    n, k = map(int, input().split())
    seen = Counter()
    total = 0
    for x in map(int, input().split()):
        total += seen[k - x]
        seen[x] += 1
    print(total)
    """,
)
def _(rng):
    out = ["4 6\n1 5 7 -1\n", "5 2\n1 1 1 1 1\n", "1 0\n0\n"]
    for n, hi in ((100, 10), (2000, 1000), (8000, 10**9)):
        out.append(f"{n} {rng.randint(-hi, hi)}\n{_line(_ints(rng, n, -hi, hi))}\n")
    return out


@stdio(
    "merge-intervals", "Merging intervals", "medium",
    """
    Merge overlapping closed intervals (intervals that share at least one point merge) and
    print the merged intervals in increasing order, one "l r" per line.

    Input: n (1 <= n <= 10^5), then n lines "l r" (0 <= l <= r <= 10^9).
    Output: the merged intervals.
    """,
    """
    import sys
    data = list(map(int, sys.stdin.read().split()))
    n = data[0]
    iv = sorted(zip(data[1::2], data[2::2]))
    out = []
    cl, cr = iv[0]
    for l, r in iv[1:]:
        if l <= cr:
            cr = max(cr, r)
        else:
            out.append(f"{cl} {cr}")
            cl, cr = l, r
    out.append(f"{cl} {cr}")
    print("\\n".join(out))
    """,
)
def _(rng):
    out = ["4\n1 3\n2 6\n8 10\n15 18\n", "2\n1 4\n4 5\n", "1\n0 0\n"]
    for n, hi in ((10, 50), (1000, 10**5), (6000, 10**9)):
        rows = []
        for _ in range(n):
            l = rng.randint(0, hi)
            rows.append(f"{l} {min(hi, l + rng.randint(0, hi // max(1, n // 4)))}\n")
        out.append(f"{n}\n" + "".join(rows))
    return out


@stdio(
    "course-order", "Course order", "medium",
    """
    Courses 1..n must be taken in an order that respects m prerequisites "a b" (a before b).
    Print the lexicographically smallest valid order, or IMPOSSIBLE if there is none.

    Input: n and m (1 <= n <= 10^5, 0 <= m <= 2*10^5), then m lines "a b".
    Output: the order (course numbers separated by spaces) or IMPOSSIBLE.
    """,
    """
    import sys, heapq
    data = list(map(int, sys.stdin.buffer.read().split()))
    n, m = data[0], data[1]
    adj = [[] for _ in range(n + 1)]
    indeg = [0] * (n + 1)
    for i in range(m):
        a, b = data[2 + 2 * i], data[3 + 2 * i]
        adj[a].append(b)
        indeg[b] += 1
    heap = [v for v in range(1, n + 1) if indeg[v] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        v = heapq.heappop(heap)
        order.append(v)
        for u in adj[v]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, u)
    print(" ".join(map(str, order)) if len(order) == n else "IMPOSSIBLE")
    """,
)
def _(rng):
    out = ["3 2\n1 3\n2 3\n", "2 2\n1 2\n2 1\n", "4 0\n"]
    for n, m, cyc in ((10, 15, False), (1000, 3000, False), (4000, 8000, False), (50, 100, True)):
        perm = list(range(1, n + 1))
        rng.shuffle(perm)
        rows = []
        for _ in range(m):
            i, j = sorted(rng.sample(range(n), 2))
            rows.append(f"{perm[i]} {perm[j]}\n")
        if cyc:
            rows.append(f"{perm[-1]} {perm[0]}\n")
        out.append(f"{n} {len(rows)}\n" + "".join(rows))
    return out


@stdio(
    "mean-median-mode", "Mean, median, mode", "medium",
    """
    Print the mean, the median and the mode of n integers, one per line. Print mean and median
    with one digit after the decimal point (the median of an even count is the average of the
    two middle values). The mode is the most frequent value; on a tie, the smallest such value.

    Input: n (1 <= n <= 10^5), then n integers (|a_i| <= 10^6).
    Output: three lines.
    """,
    """
    from collections import Counter
    n = int(input())
    a = sorted(map(int, input().split()))
    mean = sum(a) / n
    med = a[n // 2] if n % 2 else (a[n // 2 - 1] + a[n // 2]) / 2
    c = Counter(a)
    mode = min(c, key=lambda v: (-c[v], v))
    print(f"{mean:.1f}")
    print(f"{med:.1f}")
    print(mode)
    """,
)
def _(rng):
    out = ["5\n1 2 2 3 4\n", "4\n4 1 3 2\n", "1\n-7\n"]
    for n, hi in ((10, 5), (1000, 100), (8000, 10**6)):
        out.append(f"{n}\n{_line(_ints(rng, n, -hi, hi))}\n")
    return out


@stdio(
    "kth-smallest-queries", "k-th smallest after insertions", "medium",
    """
    Start with an empty multiset. Process q operations: "+ x" inserts x; "? k" prints the k-th
    smallest element (1-based; it is guaranteed to exist).

    Input: q (1 <= q <= 2*10^4), then q lines, each an operation (0 <= x <= 10^9).
    Output: one line per "?" operation.
    """,
    """
    import sys
    from bisect import insort
    lines = sys.stdin.read().split("\\n")
    q = int(lines[0])
    ms = []
    out = []
    for line in lines[1 : q + 1]:
        op, v = line.split()
        if op == "+":
            insort(ms, int(v))
        else:
            out.append(ms[int(v) - 1])
    print("\\n".join(map(str, out)))
    """,
)
def _(rng):
    out = ["5\n+ 5\n+ 1\n? 1\n+ 3\n? 2\n"]
    for q in (50, 1000, 5000):
        ops, size = [], 0
        for _ in range(q):
            if size == 0 or rng.random() < 0.6:
                ops.append(f"+ {rng.randint(0, 10**9)}\n")
                size += 1
            else:
                ops.append(f"? {rng.randint(1, size)}\n")
        out.append(f"{q}\n" + "".join(ops))
    return out


# =========================================================================== stdin / stdout: hard


@stdio(
    "dijkstra", "Shortest routes", "hard",
    """
    A directed graph has n vertices and m weighted edges. Print the length of the shortest
    path from vertex 1 to every vertex, or -1 for vertices that cannot be reached.

    Input: n and m (1 <= n <= 10^5, 0 <= m <= 2*10^5), then m lines "u v w" (1 <= w <= 10^9).
    Output: n integers on one line.
    """,
    """
    import sys, heapq
    data = list(map(int, sys.stdin.buffer.read().split()))
    n, m = data[0], data[1]
    adj = [[] for _ in range(n + 1)]
    for i in range(m):
        u, v, w = data[2 + 3 * i : 5 + 3 * i]
        adj[u].append((v, w))
    INF = float("inf")
    dist = [INF] * (n + 1)
    dist[1] = 0
    pq = [(0, 1)]
    while pq:
        d, u = heapq.heappop(pq)
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            if d + w < dist[v]:
                dist[v] = d + w
                heapq.heappush(pq, (d + w, v))
    print(" ".join(str(d) if d != INF else "-1" for d in dist[1:]))
    """,
)
def _(rng):
    out = ["3 3\n1 2 5\n2 3 1\n1 3 10\n", "2 0\n"]
    for n, m in ((10, 20), (1000, 3000), (3000, 8000)):
        rows = "".join(f"{rng.randint(1, n)} {rng.randint(1, n)} {rng.randint(1, 10**9)}\n" for _ in range(m))
        out.append(f"{n} {m}\n{rows}")
    return out


@stdio(
    "edit-distance", "Edit distance", "hard",
    """
    Print the fewest single-character insertions, deletions and substitutions that turn the
    first string into the second.

    Input: two lines, each a string of 1 to 1000 lowercase letters.
    Output: the edit distance.
    """,
    """
    a = input().strip()
    b = input().strip()
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    print(prev[-1])
    """,
)
def _(rng):
    out = ["kitten\nsitting\n", "a\na\n", "abc\nxyz\n"]
    for n in (20, 300, 1000):
        out.append(f"{_word(rng, n, 'abcd')}\n{_word(rng, rng.randint(n // 2, n), 'abcd')}\n")
    return out


@stdio(
    "count-inversions", "Counting inversions", "hard",
    """
    Count the pairs of positions i < j with a_i > a_j.

    Input: n (1 <= n <= 2*10^5), then n integers (|a_i| <= 10^9).
    Output: the number of inversions.
    """,
    """
    import sys
    data = list(map(int, sys.stdin.buffer.read().split()))
    n, a = data[0], data[1:]
    ranks = {v: i + 1 for i, v in enumerate(sorted(set(a)))}
    tree = [0] * (len(ranks) + 1)
    inv = 0
    for k, x in enumerate(a):
        r = ranks[x]
        s, i = 0, r
        while i > 0:
            s += tree[i]
            i -= i & -i
        inv += k - s
        i = r
        while i < len(tree):
            tree[i] += 1
            i += i & -i
    print(inv)
    """,
)
def _(rng):
    out = ["5\n2 4 1 3 5\n", "3\n1 1 1\n", "1\n0\n"]
    for n, hi in ((100, 10), (2000, 10**9), (10000, 10**9)):
        out.append(f"{n}\n{_line(_ints(rng, n, -hi, hi))}\n")
    return out


@stdio(
    "minimum-spanning-tree", "Cheapest network", "hard",
    """
    Connect all n towns with roads chosen from m candidates "u v cost" so that every town can
    reach every other, at the least total cost. Print that cost, or IMPOSSIBLE.

    Input: n and m (1 <= n <= 10^5, 0 <= m <= 2*10^5), then m lines "u v c" (1 <= c <= 10^9).
    Output: the least total cost, or IMPOSSIBLE.
    """,
    """
    import sys
    data = list(map(int, sys.stdin.buffer.read().split()))
    n, m = data[0], data[1]
    edges = sorted((data[4 + 3 * i], data[2 + 3 * i], data[3 + 3 * i]) for i in range(m))
    parent = list(range(n + 1))
    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    total, used = 0, 0
    for c, u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
            total += c
            used += 1
    print(total if used == n - 1 else "IMPOSSIBLE")
    """,
)
def _(rng):
    out = ["4 5\n1 2 1\n2 3 2\n3 4 3\n1 4 10\n1 3 4\n", "3 1\n1 2 5\n", "1 0\n"]
    for n, m in ((10, 30), (1000, 3000), (3000, 8000)):
        rows = [f"{i} {rng.randint(1, i - 1)} {rng.randint(1, 10**9)}\n" for i in range(2, n + 1)]
        rows += [f"{rng.randint(1, n)} {rng.randint(1, n)} {rng.randint(1, 10**9)}\n" for _ in range(m - len(rows))]
        rng.shuffle(rows)
        out.append(f"{n} {len(rows)}\n" + "".join(rows))
    return out


@stdio(
    "max-subarray-one-deletion", "Best segment with one deletion", "hard",
    """
    Choose a non-empty contiguous segment of the array and optionally delete one element of it
    (the segment must stay non-empty). Print the largest possible sum of what remains.

    Input: n (1 <= n <= 2*10^5), then n integers (|a_i| <= 10^9).
    Output: the largest sum.
    """,
    """
    input()
    a = list(map(int, input().split()))
    keep = a[0]
    dele = float("-inf")
    best = a[0]
    for x in a[1:]:
        dele = max(dele + x, keep)
        keep = max(keep + x, x)
        best = max(best, keep, dele)
    print(best)
    """,
)
def _(rng):
    out = ["4\n1 -2 0 3\n", "3\n-1 -1 -1\n", "1\n-5\n", "5\n1 -2 -2 3 4\n"]
    for n, hi in ((20, 10), (1000, 1000), (10000, 10**9)):
        out.append(f"{n}\n{_line(_ints(rng, n, -hi, hi))}\n")
    return out


@stdio(
    "fenwick-updates", "Point updates, range sums", "hard",
    """
    Process q operations on an array of n zeros: "1 i x" adds x to a_i; "2 l r" prints
    a_l + ... + a_r (1-based, inclusive).

    Input: n and q (1 <= n, q <= 10^5), then q lines (|x| <= 10^9).
    Output: one line per query of type 2.
    """,
    """
    import sys
    data = sys.stdin.buffer.read().split()
    n, q = int(data[0]), int(data[1])
    tree = [0] * (n + 1)
    out = []
    p = 2
    for _ in range(q):
        t, a, b = int(data[p]), int(data[p + 1]), int(data[p + 2])
        p += 3
        if t == 1:
            while a <= n:
                tree[a] += b
                a += a & -a
        else:
            s = 0
            r = b
            while r > 0:
                s += tree[r]
                r -= r & -r
            l = a - 1
            while l > 0:
                s -= tree[l]
                l -= l & -l
            out.append(s)
    print("\\n".join(map(str, out)))
    """,
)
def _(rng):
    out = ["5 4\n1 2 5\n1 4 -1\n2 1 5\n2 3 3\n"]
    for n, q in ((10, 30), (1000, 2000), (4000, 6000)):
        rows = []
        for _ in range(q):
            if rng.random() < 0.5:
                rows.append(f"1 {rng.randint(1, n)} {rng.randint(-10**9, 10**9)}\n")
            else:
                l = rng.randint(1, n)
                rows.append(f"2 {l} {rng.randint(l, n)}\n")
        out.append(f"{n} {q}\n" + "".join(rows))
    return out


@stdio(
    "n-queens", "Counting queen placements", "hard",
    """
    Count the ways to place n queens on an n x n chessboard so that no two attack each other.

    Input: n (1 <= n <= 10).
    Output: the number of placements.
    """,
    """
    n = int(input())
    full = (1 << n) - 1
    def solve(cols, d1, d2):
        if cols == full:
            return 1
        total = 0
        free = full & ~(cols | d1 | d2)
        while free:
            bit = free & -free
            free -= bit
            total += solve(cols | bit, ((d1 | bit) << 1) & full, (d2 | bit) >> 1)
        return total
    print(solve(0, 0, 0))
    """,
)
def _(rng):
    return [f"{n}\n" for n in (1, 2, 3, 4, 6, 8, 10)]


@stdio(
    "bipartite-graphs", "Two-colourable graphs", "hard",
    """
    For each undirected graph print YES if its vertices can be coloured with two colours so
    that every edge joins different colours, and NO otherwise.

    Input: t (1 <= t <= 10); each graph: n and m (1 <= n <= 10^4, 0 <= m <= 3*10^4), then m lines "u v".
    Output: t lines, YES or NO.
    """,
    """
    import sys
    from collections import deque
    data = list(map(int, sys.stdin.buffer.read().split()))
    t = data[0]
    p = 1
    for _ in range(t):
        n, m = data[p], data[p + 1]
        p += 2
        adj = [[] for _ in range(n + 1)]
        for _ in range(m):
            u, v = data[p], data[p + 1]
            p += 2
            adj[u].append(v)
            adj[v].append(u)
        color = [-1] * (n + 1)
        ok = True
        for s in range(1, n + 1):
            if color[s] >= 0 or not ok:
                continue
            color[s] = 0
            q = deque([s])
            while q and ok:
                u = q.popleft()
                for v in adj[u]:
                    if color[v] < 0:
                        color[v] = 1 - color[u]
                        q.append(v)
                    elif color[v] == color[u]:
                        ok = False
                        break
        print("YES" if ok else "NO")
    """,
)
def _(rng):
    def graph(n, m, bip):
        side = [rng.randint(0, 1) for _ in range(n + 1)]
        rows = []
        while len(rows) < m:
            u, v = rng.randint(1, n), rng.randint(1, n)
            if bip and side[u] == side[v]:
                continue
            rows.append(f"{u} {v}\n")
        return f"{n} {m}\n" + "".join(rows)

    out = ["2\n3 3\n1 2\n2 3\n3 1\n4 2\n1 2\n3 4\n"]
    for t, n, m in ((5, 10, 12), (6, 1000, 2500)):
        out.append(f"{t}\n" + "".join(graph(n, m, rng.random() < 0.5) for _ in range(t)))
    return out


@stdio(
    "longest-palindromic-substring", "Longest palindromic substring", "hard",
    """
    Print the length of the longest contiguous substring that is a palindrome.

    Input: a string of 1 to 5000 lowercase letters.
    Output: the length.
    """,
    """
    s = input().strip()
    t = "^#" + "#".join(s) + "#$"
    p = [0] * len(t)
    c = r = 0
    for i in range(1, len(t) - 1):
        if i < r:
            p[i] = min(r - i, p[2 * c - i])
        while t[i + p[i] + 1] == t[i - p[i] - 1]:
            p[i] += 1
        if i + p[i] > r:
            c, r = i, i + p[i]
    print(max(p))
    """,
)
def _(rng):
    out = ["babad\n", "a\n", "abba\n", "abcde\n"]
    for n, alpha in ((50, "ab"), (1000, "abc"), (5000, "ab")):
        out.append(_word(rng, n, alpha) + "\n")
    return out


@stdio(
    "sliding-window-maximum", "Sliding window maximum", "hard",
    """
    Print the maximum of every window of k consecutive elements, from left to right.

    Input: n and k (1 <= k <= n <= 2*10^5), then n integers (|a_i| <= 10^9).
    Output: n - k + 1 integers on one line.
    """,
    """
    from collections import deque
    n, k = map(int, input().split())
    a = list(map(int, input().split()))
    dq = deque()
    out = []
    for i, x in enumerate(a):
        while dq and a[dq[-1]] <= x:
            dq.pop()
        dq.append(i)
        if dq[0] <= i - k:
            dq.popleft()
        if i >= k - 1:
            out.append(a[dq[0]])
    print(" ".join(map(str, out)))
    """,
)
def _(rng):
    out = ["8 3\n1 3 -1 -3 5 3 6 7\n", "1 1\n4\n", "3 3\n1 2 3\n"]
    for n in (20, 2000, 8000):
        out.append(f"{n} {rng.randint(1, n)}\n{_line(_ints(rng, n, -10**9, 10**9))}\n")
    return out


@stdio(
    "fibonacci-huge", "Huge Fibonacci numbers", "hard",
    """
    F(0) = 0, F(1) = 1, F(n) = F(n-1) + F(n-2). For each query print F(n) mod 1000000007.

    Input: t (1 <= t <= 1000), then t integers n (0 <= n <= 10^18), one per line.
    Output: t lines.
    """,
    """
    import sys
    M = 10**9 + 7
    def fib(n):
        # fast doubling: returns (F(n), F(n+1))
        if n == 0:
            return 0, 1
        a, b = fib(n >> 1)
        c = a * (2 * b - a) % M
        d = (a * a + b * b) % M
        return (d, (c + d) % M) if n & 1 else (c, d)
    data = sys.stdin.read().split()
    print("\\n".join(str(fib(int(x))[0]) for x in data[1:]))
    """,
)
def _(rng):
    out = ["5\n0\n1\n2\n10\n50\n"]
    for t in (10, 1000):
        out.append(f"{t}\n" + "".join(f"{rng.randint(0, 10**18)}\n" for _ in range(t)))
    return out


@stdio(
    "lcs-length", "Longest common subsequence", "hard",
    """
    Print the length of the longest common subsequence of two strings.

    Input: two lines, strings of 1 to 1000 uppercase letters.
    Output: the length.
    """,
    """
    a = input().strip()
    b = input().strip()
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    print(prev[-1])
    """,
)
def _(rng):
    out = ["ABCBDAB\nBDCABA\n", "A\nB\n", "AAAA\nAA\n"]
    for n in (30, 500, 1000):
        out.append(f"{_word(rng, n, 'ACGT')}\n{_word(rng, n, 'ACGT')}\n")
    return out


@stdio(
    "polygon-area", "Area of a polygon", "hard",
    """
    Print the area of a simple polygon given by its vertices in order (clockwise or
    counter-clockwise), with exactly one digit after the decimal point.

    Input: n (3 <= n <= 10^5), then n lines "x y" (|x|, |y| <= 10^6, integers).
    Output: the area.
    """,
    """
    import sys
    data = list(map(int, sys.stdin.buffer.read().split()))
    n = data[0]
    xs, ys = data[1::2], data[2::2]
    s = 0
    for i in range(n):
        j = (i + 1) % n
        s += xs[i] * ys[j] - xs[j] * ys[i]
    s = abs(s)
    print(f"{s // 2}.{5 if s % 2 else 0}")
    """,
)
def _(rng):
    import math

    out = ["4\n0 0\n4 0\n4 3\n0 3\n", "3\n0 0\n1 0\n0 1\n"]
    for n in (10, 1000, 6000):
        angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
        pts = []
        for a in angles:
            r = rng.uniform(10, 10**6)
            pts.append(f"{int(r * math.cos(a))} {int(r * math.sin(a))}\n")
        if rng.random() < 0.5:
            pts.reverse()
        out.append(f"{n}\n" + "".join(pts))
    return out


# =========================================================================== call-based: easy


@call(
    "two-sum", "Two sum", "easy",
    """
    Given a list of integers `nums` and an integer `target`, return the indices [i, j] (i < j)
    of the two numbers that add up to `target`. Exactly one such pair exists.
    """,
    "two_sum(nums: list[int], target: int) -> list[int]",
    """
    def two_sum(nums, target):
        seen = {}
        for j, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], j]
            seen[x] = j
    """,
)
def _(rng):
    out = [[[2, 7, 11, 15], 9], [[3, 3], 6]]
    for n in (5, 100, 10000):
        while True:
            nums = rng.sample(range(-10**6, 10**6), n)
            i, j = sorted(rng.sample(range(n), 2))
            target = nums[i] + nums[j]
            present = set(nums)
            pairs = sum(1 for x in nums if target - x in present and target - x != x) // 2
            if pairs == 1:  # the statement promises exactly one answer
                break
        out.append([nums, target])
    return out


@call(
    "is-palindrome", "Letters-only palindrome", "easy",
    """
    Return True if the string reads the same forwards and backwards after removing every
    character that is not a letter or a digit and ignoring case; otherwise False.
    """,
    "is_palindrome(s: str) -> bool",
    """
    def is_palindrome(s):
        t = [c.lower() for c in s if c.isalnum()]
        return t == t[::-1]
    """,
)
def _(rng):
    out = [["A man, a plan, a canal: Panama"], ["race a car"], [""], [" "], ["0P"]]
    for n in (5, 50):
        w = _word(rng, n, "abAB ,.1")
        out.append([w + w[::-1]])
        out.append([w])
    return out


@call(
    "fizzbuzz-list", "FizzBuzz as a list", "easy",
    """
    Return the list of strings for 1..n where multiples of 3 are "Fizz", of 5 "Buzz", of
    both "FizzBuzz", and other numbers their decimal form.
    """,
    "fizz_buzz(n: int) -> list[str]",
    """
    def fizz_buzz(n):
        return ["FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i) for i in range(1, n + 1)]
    """,
)
def _(rng):
    return [[1], [3], [15], [rng.randint(16, 60)], [0]]


@call(
    "count-bits", "Counting bits", "easy",
    """
    Return a list whose i-th element (0 <= i <= n) is the number of 1 bits in the binary form of i.
    """,
    "count_bits(n: int) -> list[int]",
    """
    def count_bits(n):
        out = [0] * (n + 1)
        for i in range(1, n + 1):
            out[i] = out[i >> 1] + (i & 1)
        return out
    """,
)
def _(rng):
    return [[0], [2], [5], [rng.randint(10, 100)], [10000]]


@call(
    "max-profit", "Best time to buy and sell", "easy",
    """
    `prices[i]` is a stock's price on day i. Buy on one day and sell on a later day; return the
    largest profit possible, or 0 if no profit can be made.
    """,
    "max_profit(prices: list[int]) -> int",
    """
    def max_profit(prices):
        best, low = 0, float("inf")
        for p in prices:
            low = min(low, p)
            best = max(best, p - low)
        return best
    """,
)
def _(rng):
    out = [[[7, 1, 5, 3, 6, 4]], [[7, 6, 4, 3, 1]], [[5]]]
    for n in (10, 1000, 20000):
        out.append([_ints(rng, n, 1, 10**4)])
    return out


@call(
    "valid-anagram", "Anagrams", "easy",
    """
    Return True if `t` is an anagram of `s` (the same letters with the same counts, in any order).
    """,
    "is_anagram(s: str, t: str) -> bool",
    """
    from collections import Counter
    def is_anagram(s, t):
        return Counter(s) == Counter(t)
    """,
)
def _(rng):
    out = [["anagram", "nagaram"], ["rat", "car"], ["a", "ab"], ["", ""]]
    for n in (10, 1000):
        w = _word(rng, n, "abc")
        l = list(w)
        rng.shuffle(l)
        out.append([w, "".join(l)])
        out.append([w, "".join(l[:-1]) + ("a" if l[-1] != "a" else "b")])
    return out


@call(
    "roman-to-int", "Roman numerals", "easy",
    """
    Convert a Roman numeral (I, V, X, L, C, D, M, with subtractive pairs such as IV and CM)
    between 1 and 3999 to an integer.
    """,
    "roman_to_int(s: str) -> int",
    """
    def roman_to_int(s):
        v = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
        total = 0
        for a, b in zip(s, s[1:] + " "):
            total += -v[a] if b != " " and v[a] < v[b] else v[a]
        return total
    """,
)
def _(rng):
    def to_roman(n):
        vals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
        out = ""
        for v, s in vals:
            while n >= v:
                out += s
                n -= v
        return out

    return [[to_roman(n)] for n in [1, 4, 9, 58, 1994, 3999] + [rng.randint(1, 3999) for _ in range(4)]]


@call(
    "move-zeroes", "Zeroes to the end", "easy",
    """
    Return the list with every 0 moved to the end, keeping the order of the other elements.
    """,
    "move_zeroes(nums: list[int]) -> list[int]",
    """
    def move_zeroes(nums):
        rest = [x for x in nums if x != 0]
        return rest + [0] * (len(nums) - len(rest))
    """,
)
def _(rng):
    out = [[[0, 1, 0, 3, 12]], [[0]], [[1, 2]], [[]]]
    for n in (10, 1000):
        out.append([[rng.choice([0, 0, rng.randint(-9, 9)]) for _ in range(n)]])
    return out


# =========================================================================== call-based: medium


@call(
    "group-anagrams", "Grouping anagrams", "medium",
    """
    Group the words that are anagrams of each other. Return the groups with the words of each
    group in sorted order and the groups sorted (as lists) in increasing order.
    """,
    "group_anagrams(words: list[str]) -> list[list[str]]",
    """
    def group_anagrams(words):
        groups = {}
        for w in words:
            groups.setdefault("".join(sorted(w)), []).append(w)
        return sorted(sorted(g) for g in groups.values())
    """,
)
def _(rng):
    out = [[["eat", "tea", "tan", "ate", "nat", "bat"]], [[""]], [["a"]]]
    for n in (20, 500):
        out.append([[_word(rng, rng.randint(1, 3), "abc") for _ in range(n)]])
    return out


@call(
    "merge-interval-list", "Merge intervals (list)", "medium",
    """
    Merge overlapping intervals [start, end] (intervals that touch, like [1, 4] and [4, 5], merge)
    and return the merged intervals sorted by start.
    """,
    "merge(intervals: list[list[int]]) -> list[list[int]]",
    """
    def merge(intervals):
        out = []
        for s, e in sorted(intervals):
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return out
    """,
)
def _(rng):
    out = [[[[1, 3], [2, 6], [8, 10], [15, 18]]], [[[1, 4], [4, 5]]], [[[1, 1]]]]
    for n, hi in ((10, 30), (1000, 10**5)):
        iv = []
        for _ in range(n):
            s = rng.randint(0, hi)
            iv.append([s, s + rng.randint(0, hi // 20 + 1)])
        out.append([iv])
    return out


@call(
    "top-k-frequent", "Most frequent elements", "medium",
    """
    Return the k most frequent values of `nums`, most frequent first; values with equal
    frequency in increasing order. 1 <= k <= number of distinct values.
    """,
    "top_k_frequent(nums: list[int], k: int) -> list[int]",
    """
    from collections import Counter
    def top_k_frequent(nums, k):
        c = Counter(nums)
        return sorted(c, key=lambda v: (-c[v], v))[:k]
    """,
)
def _(rng):
    out = [[[1, 1, 1, 2, 2, 3], 2], [[1], 1]]
    for n, hi in ((20, 5), (1000, 50), (8000, 1000)):
        nums = _ints(rng, n, -hi, hi)
        out.append([nums, rng.randint(1, len(set(nums)))])
    return out


@call(
    "product-except-self", "Product of the others", "medium",
    """
    Return a list whose i-th element is the product of every element of `nums` except nums[i].
    """,
    "product_except_self(nums: list[int]) -> list[int]",
    """
    def product_except_self(nums):
        n = len(nums)
        out = [1] * n
        left = 1
        for i in range(n):
            out[i] = left
            left *= nums[i]
        right = 1
        for i in range(n - 1, -1, -1):
            out[i] *= right
            right *= nums[i]
        return out
    """,
)
def _(rng):
    out = [[[1, 2, 3, 4]], [[-1, 1, 0, -3, 3]], [[5, 7]]]
    for n in (10, 200):
        out.append([_ints(rng, n, -3, 3)])
    return out


@call(
    "spiral-order", "Spiral order", "medium",
    """
    Return the elements of an m x n matrix in clockwise spiral order, starting at the top-left.
    """,
    "spiral_order(matrix: list[list[int]]) -> list[int]",
    """
    def spiral_order(matrix):
        out = []
        m = [row[:] for row in matrix]
        while m:
            out += m.pop(0)
            m = [list(r) for r in zip(*m)][::-1]
        return out
    """,
)
def _(rng):
    out = [[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], [[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]], [[[7]]]]
    for h, w in ((1, 5), (5, 1), (20, 30)):
        out.append([[_ints(rng, w, -100, 100) for _ in range(h)]])
    return out


@call(
    "decode-ways", "Ways to decode", "medium",
    """
    Letters are encoded as numbers: A=1, ..., Z=26. Return the number of ways to decode the
    string of digits `s` (a part such as "06" is not valid). The answer fits in 64 bits.
    """,
    "num_decodings(s: str) -> int",
    """
    def num_decodings(s):
        prev, cur = 1, 1 if s and s[0] != "0" else 0
        for i in range(1, len(s)):
            nxt = 0
            if s[i] != "0":
                nxt += cur
            if s[i - 1] == "1" or (s[i - 1] == "2" and s[i] <= "6"):
                nxt += prev
            prev, cur = cur, nxt
        return cur if s else 0
    """,
)
def _(rng):
    out = [["12"], ["226"], ["06"], ["0"], ["10"], ["2101"]]
    for n in (10, 60):
        out.append([_word(rng, n, "1122334567890")])
        out.append([_word(rng, n, "12")])
    return out


@call(
    "word-break", "Word break", "medium",
    """
    Return True if `s` can be split into a sequence of one or more words from `words` (words
    may be reused), otherwise False.
    """,
    "word_break(s: str, words: list[str]) -> bool",
    """
    def word_break(s, words):
        ws = set(words)
        lens = sorted({len(w) for w in ws})
        ok = [True] + [False] * len(s)
        for i in range(1, len(s) + 1):
            ok[i] = any(l <= i and ok[i - l] and s[i - l : i] in ws for l in lens)
        return ok[-1]
    """,
)
def _(rng):
    out = [["leetcode", ["leet", "code"]], ["applepenapple", ["apple", "pen"]], ["catsandog", ["cats", "dog", "sand", "and", "cat"]]]
    for n in (20, 300):
        words = [_word(rng, rng.randint(1, 4), "ab") for _ in range(6)]
        s = "".join(rng.choice(words) for _ in range(n // 3))
        out.append([s, words])
        out.append([s + "c", words])
        out.append(["a" * n + "b", ["a", "aa", "aaa"]])
    return out


@call(
    "min-path-sum", "Cheapest path down a grid", "medium",
    """
    Moving only right or down, go from the top-left to the bottom-right cell of a grid of
    non-negative integers. Return the smallest possible sum of the cells on the path.
    """,
    "min_path_sum(grid: list[list[int]]) -> int",
    """
    def min_path_sum(grid):
        h, w = len(grid), len(grid[0])
        row = [0] * w
        for i in range(h):
            for j in range(w):
                if i == 0 and j == 0:
                    row[j] = grid[0][0]
                elif i == 0:
                    row[j] = row[j - 1] + grid[i][j]
                elif j == 0:
                    row[j] = row[j] + grid[i][j]
                else:
                    row[j] = min(row[j], row[j - 1]) + grid[i][j]
        return row[-1]
    """,
)
def _(rng):
    out = [[[[1, 3, 1], [1, 5, 1], [4, 2, 1]]], [[[1, 2, 3], [4, 5, 6]]], [[[0]]]]
    for h, w in ((10, 10), (100, 150)):
        out.append([[_ints(rng, w, 0, 100) for _ in range(h)]])
    return out


@call(
    "rotate-matrix", "Rotate a matrix", "medium",
    """
    Return the n x n matrix rotated by 90 degrees clockwise.
    """,
    "rotate(matrix: list[list[int]]) -> list[list[int]]",
    """
    def rotate(matrix):
        return [list(row) for row in zip(*matrix[::-1])]
    """,
)
def _(rng):
    out = [[[[1, 2], [3, 4]]], [[[1]]]]
    for n in (3, 10, 50):
        out.append([[_ints(rng, n, -1000, 1000) for _ in range(n)]])
    return out


# =========================================================================== call-based: hard


@call(
    "longest-valid-parentheses", "Longest valid parentheses", "hard",
    """
    Return the length of the longest contiguous substring of `s` (made of '(' and ')') that
    is a well-formed parentheses string.
    """,
    "longest_valid_parentheses(s: str) -> int",
    """
    def longest_valid_parentheses(s):
        best = 0
        stack = [-1]
        for i, ch in enumerate(s):
            if ch == "(":
                stack.append(i)
            else:
                stack.pop()
                if not stack:
                    stack.append(i)
                else:
                    best = max(best, i - stack[-1])
        return best
    """,
)
def _(rng):
    out = [["(()"], [")()())"], [""], ["()(())"]]
    for n in (20, 1000, 20000):
        out.append([_word(rng, n, "()")])
    return out


@call(
    "trapping-rain-water", "Trapping rain water", "hard",
    """
    `heights` gives the heights of bars of width 1. Return how much rain water is trapped
    between them.
    """,
    "trap(heights: list[int]) -> int",
    """
    def trap(heights):
        l, r = 0, len(heights) - 1
        lmax = rmax = water = 0
        while l < r:
            if heights[l] < heights[r]:
                lmax = max(lmax, heights[l])
                water += lmax - heights[l]
                l += 1
            else:
                rmax = max(rmax, heights[r])
                water += rmax - heights[r]
                r -= 1
        return water
    """,
)
def _(rng):
    out = [[[0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]], [[4, 2, 0, 3, 2, 5]], [[]], [[3]]]
    for n in (20, 1000, 20000):
        out.append([_ints(rng, n, 0, 10**4)])
    return out


@call(
    "median-two-sorted", "Median of two sorted lists", "hard",
    """
    Return the median of all the numbers of two sorted lists (not both empty) as a float; for
    an even count, the average of the two middle values.
    """,
    "find_median_sorted_arrays(a: list[int], b: list[int]) -> float",
    """
    def find_median_sorted_arrays(a, b):
        if len(a) > len(b):
            a, b = b, a
        m, n = len(a), len(b)
        lo, hi = 0, m
        half = (m + n + 1) // 2
        while True:
            i = (lo + hi) // 2
            j = half - i
            al = a[i - 1] if i > 0 else float("-inf")
            ar = a[i] if i < m else float("inf")
            bl = b[j - 1] if j > 0 else float("-inf")
            br = b[j] if j < n else float("inf")
            if al <= br and bl <= ar:
                if (m + n) % 2:
                    return float(max(al, bl))
                return (max(al, bl) + min(ar, br)) / 2
            if al > br:
                hi = i - 1
            else:
                lo = i + 1
    """,
)
def _(rng):
    out = [[[1, 3], [2]], [[1, 2], [3, 4]], [[], [1]], [[2], []]]
    for m, n in ((5, 8), (1000, 999), (0, 10), (4000, 5000)):
        out.append([sorted(_ints(rng, m, -10**6, 10**6)), sorted(_ints(rng, n, -10**6, 10**6))])
    return out


@call(
    "min-window-substring", "Smallest covering window", "hard",
    """
    Return the shortest substring of `s` that contains every character of `t` (with
    multiplicity). If several are shortest, return the leftmost; if there is none, return "".
    """,
    "min_window(s: str, t: str) -> str",
    """
    from collections import Counter
    def min_window(s, t):
        need = Counter(t)
        missing = len(t)
        best = (float("inf"), 0, 0)
        l = 0
        for r, ch in enumerate(s, 1):
            if need[ch] > 0:
                missing -= 1
            need[ch] -= 1
            if missing == 0:
                while need[s[l]] < 0:
                    need[s[l]] += 1
                    l += 1
                if r - l < best[0]:
                    best = (r - l, l, r)
                need[s[l]] += 1
                missing += 1
                l += 1
        return s[best[1] : best[2]] if best[0] != float("inf") else ""
    """,
)
def _(rng):
    out = [["ADOBECODEBANC", "ABC"], ["a", "a"], ["a", "aa"], ["ab", "b"]]
    for n in (30, 1000, 20000):
        s = _word(rng, n, "ABCDEFG")
        out.append([s, _word(rng, rng.randint(1, 6), "ABCDEFG")])
    out.append([_word(rng, 100, "AB"), "C"])
    return out


@call(
    "count-smaller-after", "Smaller numbers after self", "hard",
    """
    Return a list whose i-th element is how many elements to the right of nums[i] are
    strictly smaller than nums[i].
    """,
    "count_smaller(nums: list[int]) -> list[int]",
    """
    def count_smaller(nums):
        ranks = {v: i + 1 for i, v in enumerate(sorted(set(nums)))}
        tree = [0] * (len(ranks) + 1)
        out = []
        for x in reversed(nums):
            r = ranks[x] - 1
            s = 0
            while r > 0:
                s += tree[r]
                r -= r & -r
            out.append(s)
            r = ranks[x]
            while r < len(tree):
                tree[r] += 1
                r += r & -r
        return out[::-1]
    """,
)
def _(rng):
    out = [[[5, 2, 6, 1]], [[-1]], [[-1, -1]], [[]]]
    for n, hi in ((20, 5), (1000, 10**4), (8000, 10**9)):
        out.append([_ints(rng, n, -hi, hi)])
    return out


@call(
    "regex-match", "Regular expression matching", "hard",
    """
    Return True if the pattern `p` matches the whole string `s`, where '.' matches any one
    character and '*' matches zero or more of the element before it (the pattern is valid:
    '*' never comes first or twice in a row).
    """,
    "is_match(s: str, p: str) -> bool",
    """
    from functools import lru_cache
    def is_match(s, p):
        @lru_cache(maxsize=None)
        def m(i, j):
            if j == len(p):
                return i == len(s)
            first = i < len(s) and p[j] in (s[i], ".")
            if j + 1 < len(p) and p[j + 1] == "*":
                return m(i, j + 2) or (first and m(i + 1, j))
            return first and m(i + 1, j + 1)
        return m(0, 0)
    """,
)
def _(rng):
    out = [["aa", "a"], ["aa", "a*"], ["ab", ".*"], ["aab", "c*a*b"], ["mississippi", "mis*is*p*."], ["", "a*"]]
    for n in (5, 15, 25):
        s = _word(rng, n, "ab")
        p = ""
        while len(p) < n // 2 + 2:
            c = rng.choice("ab.")
            p += c + ("*" if rng.random() < 0.4 else "")
        out.append([s, p])
    return out


@call(
    "largest-rectangle", "Largest rectangle in a histogram", "hard",
    """
    `heights` gives bar heights of width 1. Return the area of the largest rectangle that fits
    inside the histogram.
    """,
    "largest_rectangle_area(heights: list[int]) -> int",
    """
    def largest_rectangle_area(heights):
        stack = []
        best = 0
        for i, h in enumerate(heights + [0]):
            start = i
            while stack and stack[-1][1] >= h:
                start, sh = stack.pop()
                best = max(best, sh * (i - start))
            stack.append((start, h))
        return best
    """,
)
def _(rng):
    out = [[[2, 1, 5, 6, 2, 3]], [[2, 4]], [[0]], [[]]]
    for n, hi in ((20, 10), (1000, 10**4), (8000, 10**9)):
        out.append([_ints(rng, n, 0, hi)])
    return out


@call(
    "shortest-word-ladder", "Word ladder", "hard",
    """
    Change `begin` into `end` one letter at a time, every intermediate word being in `words`
    (and `end` must be in `words`). Return the number of words in the shortest such sequence,
    counting both ends, or 0 if there is none.
    """,
    "ladder_length(begin: str, end: str, words: list[str]) -> int",
    """
    from collections import deque
    def ladder_length(begin, end, words):
        ws = set(words)
        if end not in ws:
            return 0
        q = deque([(begin, 1)])
        seen = {begin}
        while q:
            w, d = q.popleft()
            if w == end:
                return d
            for i in range(len(w)):
                for c in "abcdefghijklmnopqrstuvwxyz":
                    nw = w[:i] + c + w[i + 1 :]
                    if nw in ws and nw not in seen:
                        seen.add(nw)
                        q.append((nw, d + 1))
        return 0
    """,
)
def _(rng):
    out = [
        ["hit", "cog", ["hot", "dot", "dog", "lot", "log", "cog"]],
        ["hit", "cog", ["hot", "dot", "dog", "lot", "log"]],
        ["a", "c", ["a", "b", "c"]],
    ]
    for n in (50, 2000):
        words = list({_word(rng, 4, "abcde") for _ in range(n)})
        words.sort()
        out.append([words[0], words[-1], words])
    return out


# =========================================================================== building problems.json


def _prompt(spec: Spec, examples: list[tuple[Any, Any]]) -> str:
    from prolong.envs.code.load import call_instructions, stdio_instructions

    parts = [f"# {spec.title}", spec.statement]
    if spec.mode == "stdio":
        for k, (inp, out) in enumerate(examples, 1):
            parts.append(f"Example {k}\nInput:\n```\n{inp.rstrip()}\n```\nOutput:\n```\n{out.rstrip()}\n```")
        parts.append(stdio_instructions())
    else:
        parts.append(f"Signature: `def {spec.signature}`")
        for k, (args, out) in enumerate(examples, 1):
            call_text = f"{spec.fn_name}(" + ", ".join(json.dumps(a) for a in args) + ")"
            parts.append(f"Example {k}: `{call_text}` returns `{json.dumps(out)}`")
        parts.append(call_instructions(spec.fn_name or ""))
    return "\n\n".join(parts)


def _short(x: Any) -> bool:
    return len(json.dumps(x)) <= 300


def build(sandbox: str | None = None) -> dict[str, Any]:
    """Run every reference on its inputs in the sandbox; the ``problems.json`` content."""
    from prolong.envs.code.sandbox import Execution, Limits, get_pool

    pool = get_pool(sandbox)
    slugs = [s.slug for s in SPECS]
    dupes = {s for s in slugs if slugs.count(s) > 1}
    if dupes:
        raise ValueError(f"duplicate problem ids: {sorted(dupes)}")
    inputs = [spec.gen(random.Random(f"prolong-code/{spec.slug}")) for spec in SPECS]
    executions = [
        Execution(spec.reference, inp, spec.mode, spec.fn_name, group=k) for k, spec in enumerate(SPECS) for inp in inputs[k]
    ]
    results = pool.run(executions, Limits(timeout=30, memory_mb=2048))
    records = []
    at = 0
    for k, spec in enumerate(SPECS):
        outputs = []
        for inp in inputs[k]:
            r = results[at]
            at += 1
            if r.status != "ok":
                raise RuntimeError(f"reference of {spec.slug} failed on an input ({r.status}: {r.note}): {r.stderr[-800:]}")
            outputs.append(r.stdout.decode() if spec.mode == "stdio" else json.loads(r.result or b"null"))
        examples = [(i, o) for i, o in zip(inputs[k], outputs) if _short(i) and _short(o)][:2]
        tests: dict[str, Any] = {"inputs": inputs[k], "outputs": outputs}
        if spec.mode == "call":
            tests["fn_name"] = spec.fn_name
        records.append(
            {
                "id": f"code/{spec.slug}",
                "title": spec.title,
                "difficulty": spec.difficulty,
                "mode": spec.mode,
                "split": "validation" if k % 5 == 4 else "train",
                "prompt": _prompt(spec, examples),
                "reference": spec.reference,
                "tests": tests,
            }
        )
    return {"version": 1, "generated_by": "python -m prolong.envs.code.problems", "problems": records}


def main(argv: list[str] | None = None) -> int:
    """Rebuild problems.json (``python -m prolong.envs.code.problems [--check]``)."""
    from prolong.envs.code.env import PROBLEMS_FILE

    args = sys.argv[1:] if argv is None else argv
    data = build()
    head = json.dumps({k: v for k, v in data.items() if k != "problems"}, ensure_ascii=False)[:-1]
    rows = ",\n".join(json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in data["problems"])
    text = f'{head}, "problems": [\n{rows}\n]}}\n'  # one problem per line
    if "--check" in args:
        same = PROBLEMS_FILE.exists() and PROBLEMS_FILE.read_text(encoding="utf-8") == text
        print("problems.json is up to date" if same else "problems.json is stale: rebuild it")
        return 0 if same else 1
    PROBLEMS_FILE.write_text(text, encoding="utf-8")
    n = len(data["problems"])
    tests = sum(len(p["tests"]["inputs"]) for p in data["problems"])
    print(f"wrote {PROBLEMS_FILE}: {n} problems, {tests} tests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
