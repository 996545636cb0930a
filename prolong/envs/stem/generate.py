"""Built-in STEM problems: formulas with computed answers and units, and multiple choice
built from the mistakes students make.

Each template draws "nice" inputs from the RNG, computes the answer from its formula,
and lists the values that common mistakes give (forgot to square, forgot a 1/2,
unit conversion off by 1000, inverted ratio, sign error, Celsius used as Kelvin, ...).
A numeric problem asks for the number with its unit; a multiple-choice problem shows
the answer among three of those mistakes (padded with factor-of-ten slips when a
template has fewer), in an order shuffled by the same RNG. Problem ``i`` depends only
on ``(seed, split, i)`` (:class:`prolong.core.GeneratedProblems`).

Gold format (numeric): four significant figures, plain below 10^5 and at or above
10^-3 (``"19.62 m/s"``), else ``"2.500 \\times 10^{5} J"``, then a space and the unit in
plain symbols (``m/s^2``, ``J/(mol K)``, ``°C``, ``Ω``); a unitless answer (pH, an allele
frequency) is a plain number.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TEMPLATES",
    "SUBJECTS",
    "Item",
    "format_number",
    "format_quantity",
    "numeric_prompt",
    "choice_prompt",
    "make_problem",
    "resolve_topics",
]

G = 9.81  # m/s^2
R_GAS = 8.314  # J/(mol K)
R_LATM = 0.082057  # L atm/(mol K)
C_LIGHT = 3.00e8  # m/s


@dataclass
class Item:
    """One worked problem from a template: the answer and the values mistakes give."""

    question: str
    value: float
    unit: str
    solution: str
    mistakes: list[tuple[str, float]] = field(default_factory=list)  # (mistake, value in the same unit)


def format_number(x: float, sig: int = 4) -> str:
    """``19.62``, ``0.004500`` -> ``0.0045``, ``2.5e5`` -> ``2.5 \\times 10^{5}`` (``sig`` significant figures)."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    mant, _, exp_text = f"{x:.{sig - 1}e}".partition("e")
    exp = int(exp_text)
    if -3 <= exp < 5:
        decimals = max(sig - 1 - exp, 0)
        text = f"{x:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
    return f"{mant} \\times 10^{{{exp}}}"


def format_quantity(x: float, unit: str, sig: int = 4) -> str:
    return f"{format_number(x, sig)} {unit}".strip()


def _pick(rng: random.Random, lo: float, hi: float, step: float) -> float:
    n = int(round((hi - lo) / step))
    return round(lo + step * rng.randint(0, n), 10)


def _n(x: float) -> str:
    """An input value as shown in a question."""
    return format_number(x, 3)


# --------------------------------------------------------------------------- physics


def kinematics_distance(rng: random.Random) -> Item:
    a, t = _pick(rng, 1.5, 6.0, 0.5), float(rng.randint(3, 12))
    d = 0.5 * a * t * t
    return Item(
        f"A cart starts from rest and accelerates uniformly at {_n(a)} m/s^2 for {_n(t)} s. How far does it travel?",
        d,
        "m",
        f"From rest, d = (1/2) a t^2 = 0.5 × {_n(a)} m/s^2 × ({_n(t)} s)^2 = {format_number(d)} m.",
        [("forgot the 1/2", a * t * t), ("forgot to square t", 0.5 * a * t), ("used v = a t", a * t), ("m vs km", d / 1000)],
    )


def free_fall_speed(rng: random.Random) -> Item:
    h = float(rng.randint(5, 80))
    v = math.sqrt(2 * G * h)
    return Item(
        f"A stone is dropped from rest from a height of {_n(h)} m. Ignoring air resistance and taking g = 9.81 m/s^2, "
        "how fast is it moving just before it hits the ground?",
        v,
        "m/s",
        f"Energy conservation: v = sqrt(2 g h) = sqrt(2 × 9.81 m/s^2 × {_n(h)} m) = {format_number(v)} m/s.",
        [("forgot the square root", 2 * G * h), ("forgot the factor 2", math.sqrt(G * h)), ("v = g h", G * h)],
    )


def newton_force(rng: random.Random) -> Item:
    m_g, a = float(rng.randrange(200, 2001, 50)), _pick(rng, 0.5, 8.0, 0.5)
    f = m_g / 1000 * a
    return Item(
        f"What net force is needed to give a {_n(m_g)} g object an acceleration of {_n(a)} m/s^2?",
        f,
        "N",
        f"F = m a = {format_number(m_g / 1000)} kg × {_n(a)} m/s^2 = {format_number(f)} N.",
        [("grams used as kilograms", m_g * a), ("inverted ratio a/m", a / (m_g / 1000)), ("multiplied by g", f * G)],
    )


def newton_friction(rng: random.Random) -> Item:
    m, mu = float(rng.randint(2, 20)), _pick(rng, 0.10, 0.40, 0.05)
    friction = mu * m * G
    f_app = round(friction * rng.uniform(1.5, 3.0), 0)
    a = (f_app - friction) / m
    return Item(
        f"A {_n(m)} kg crate is pushed across a level floor with a horizontal force of {_n(f_app)} N. The coefficient "
        f"of kinetic friction is {_n(mu)}. Taking g = 9.81 m/s^2, what is the crate's acceleration?",
        a,
        "m/s^2",
        f"Friction = μ m g = {format_number(friction)} N, so a = (F - μ m g)/m = ({_n(f_app)} - {format_number(friction)}) N"
        f" / {_n(m)} kg = {format_number(a)} m/s^2.",
        [("ignored friction", f_app / m), ("sign error: added friction", (f_app + friction) / m),
         ("inverted ratio m/F", m / (f_app - friction))],  # fmt: skip
    )


def kinetic_energy(rng: random.Random) -> Item:
    m, v = float(rng.randint(2, 1500)), float(rng.randint(3, 40))
    ke = 0.5 * m * v * v
    return Item(
        f"What is the kinetic energy of a {_n(m)} kg object moving at {_n(v)} m/s?",
        ke,
        "J",
        f"KE = (1/2) m v^2 = 0.5 × {_n(m)} kg × ({_n(v)} m/s)^2 = {format_number(ke)} J.",
        [("forgot to square v", 0.5 * m * v), ("forgot the 1/2", m * v * v), ("J vs kJ", ke / 1000)],
    )


def potential_energy(rng: random.Random) -> Item:
    m, h_cm = _pick(rng, 0.5, 10.0, 0.5), float(rng.randrange(20, 500, 10))
    pe = m * G * h_cm / 100
    return Item(
        f"A {_n(m)} kg book is lifted {_n(h_cm)} cm straight up. Taking g = 9.81 m/s^2, by how much does its "
        "gravitational potential energy increase?",
        pe,
        "J",
        f"ΔU = m g h = {_n(m)} kg × 9.81 m/s^2 × {format_number(h_cm / 100)} m = {format_number(pe)} J.",
        [("centimetres used as metres", m * G * h_cm), ("forgot g", m * h_cm / 100), ("divided by g", m * h_cm / 100 / G)],
    )


def ohms_law_current(rng: random.Random) -> Item:
    v, r_k = float(rng.choice([1.5, 3, 5, 6, 9, 12, 24, 48, 120])), _pick(rng, 0.1, 10.0, 0.1)
    i_ma = v / r_k  # V / kΩ = mA
    return Item(
        f"A {_n(v)} V battery is connected across a {_n(r_k)} kΩ resistor. What current flows through the resistor?",
        i_ma,
        "mA",
        f"I = V / R = {_n(v)} V / ({_n(r_k)} × 10^3 Ω) = {format_number(i_ma / 1000)} A = {format_number(i_ma)} mA.",
        [("inverted ratio R/V", r_k / v), ("multiplied V R", v * r_k), ("kΩ used as Ω", i_ma * 1000)],
    )


def electrical_power(rng: random.Random) -> Item:
    v, r = float(rng.choice([6, 9, 12, 24, 110, 120, 230])), float(rng.choice([2, 4, 5, 8, 10, 20, 50, 100, 220]))
    p = v * v / r
    return Item(
        f"A {_n(r)} Ω heater is connected to a {_n(v)} V supply. What power does it dissipate?",
        p,
        "W",
        f"P = V^2 / R = ({_n(v)} V)^2 / {_n(r)} Ω = {format_number(p)} W.",
        [("forgot to square V", v / r), ("multiplied by R", v * v * r), ("W vs kW", p / 1000)],
    )


def resistors_parallel(rng: random.Random) -> Item:
    r1, r2 = float(rng.choice([10, 20, 30, 47, 50, 68, 100, 150, 220])), float(rng.choice([15, 22, 33, 40, 60, 82, 120]))
    rp = r1 * r2 / (r1 + r2)
    return Item(
        f"Resistors of {_n(r1)} Ω and {_n(r2)} Ω are connected in parallel. What is their equivalent resistance?",
        rp,
        "Ω",
        f"1/R = 1/{_n(r1)} Ω + 1/{_n(r2)} Ω, so R = R1 R2 / (R1 + R2) = {format_number(rp)} Ω.",
        [("added them as in series", r1 + r2), ("forgot to invert 1/R", 1 / r1 + 1 / r2), ("averaged them", (r1 + r2) / 2)],
    )


def wave_wavelength(rng: random.Random) -> Item:
    f_mhz = _pick(rng, 70.0, 110.0, 0.1)
    lam = C_LIGHT / (f_mhz * 1e6)
    return Item(
        f"An FM radio station broadcasts at {_n(f_mhz)} MHz. Taking c = 3.00 × 10^8 m/s, what is the wavelength of "
        "its radio waves?",
        lam,
        "m",
        f"λ = c / f = 3.00 × 10^8 m/s / ({_n(f_mhz)} × 10^6 Hz) = {format_number(lam)} m.",
        [("inverted ratio f/c", f_mhz * 1e6 / C_LIGHT), ("MHz used as Hz", C_LIGHT / f_mhz),
         ("m vs km", lam / 1000), ("m vs mm", lam * 1000)],  # fmt: skip
    )


def wave_speed(rng: random.Random) -> Item:
    f, lam = float(rng.choice([110, 220, 256, 330, 440, 512, 660, 880])), _pick(rng, 0.2, 3.0, 0.05)
    v = f * lam
    return Item(
        f"A sound wave has frequency {_n(f)} Hz and wavelength {_n(lam)} m. What is its speed?",
        v,
        "m/s",
        f"v = f λ = {_n(f)} Hz × {_n(lam)} m = {format_number(v)} m/s.",
        [("divided f by λ", f / lam), ("divided λ by f", lam / f), ("m/s vs km/s", v / 1000)],
    )


def gas_pressure(rng: random.Random) -> Item:
    n, t_c, v_l = _pick(rng, 0.5, 5.0, 0.25), float(rng.randint(0, 80)), float(rng.randint(5, 50))
    p = n * R_GAS * (t_c + 273.15) / (v_l / 1000)
    return Item(
        f"{_n(n)} mol of an ideal gas fills a {_n(v_l)} L container at {_n(t_c)} °C. Using R = 8.314 J/(mol K), "
        "what is the gas pressure?",
        p / 1000,
        "kPa",
        f"P = n R T / V = {_n(n)} mol × 8.314 J/(mol K) × {format_number(t_c + 273.15)} K / "
        f"({format_number(v_l / 1000)} m^3) = {format_number(p / 1000)} kPa.",
        [("Celsius used as Kelvin", n * R_GAS * max(t_c, 1.0) / (v_l / 1000) / 1000),
         ("litres used as cubic metres", p / 1000 / 1000), ("inverted ratio V/(nRT)", v_l / (n * R_GAS * (t_c + 273.15)))],  # fmt: skip
    )


def pendulum_period(rng: random.Random) -> Item:
    length = _pick(rng, 0.2, 3.0, 0.1)
    t = 2 * math.pi * math.sqrt(length / G)
    return Item(
        f"What is the period of a simple pendulum of length {_n(length)} m (small oscillations, g = 9.81 m/s^2)?",
        t,
        "s",
        f"T = 2π sqrt(L/g) = 2π sqrt({_n(length)} m / 9.81 m/s^2) = {format_number(t)} s.",
        [("forgot the square root", 2 * math.pi * length / G), ("inverted ratio g/L", 2 * math.pi * math.sqrt(G / length)),
         ("forgot 2π", math.sqrt(length / G))],  # fmt: skip
    )


def charles_temperature(rng: random.Random) -> Item:
    t1_c, v1 = float(rng.randint(5, 40)), float(rng.randint(2, 10))
    v2 = round(v1 * rng.uniform(1.1, 1.6), 1)
    t2_k = (t1_c + 273.15) * v2 / v1
    t2_c = t2_k - 273.15
    return Item(
        f"A gas occupies {_n(v1)} L at {_n(t1_c)} °C. At constant pressure it is heated until it occupies {_n(v2)} L. "
        "What is its final temperature in degrees Celsius?",
        t2_c,
        "°C",
        f"Charles's law: T2 = T1 V2/V1 = {format_number(t1_c + 273.15)} K × {_n(v2)}/{_n(v1)} = {format_number(t2_k)} K "
        f"= {format_number(t2_c)} °C.",
        [("Celsius used as Kelvin", t1_c * v2 / v1), ("inverted ratio V1/V2", (t1_c + 273.15) * v1 / v2 - 273.15),
         ("sign error converting from Kelvin", t2_k + 273.15)],  # fmt: skip
    )


# --------------------------------------------------------------------------- chemistry

_MOLAR_MASS = {
    "water (H2O)": 18.015, "carbon dioxide (CO2)": 44.01, "sodium chloride (NaCl)": 58.44,
    "glucose (C6H12O6)": 180.16, "ammonia (NH3)": 17.031, "calcium carbonate (CaCO3)": 100.09,
    "sodium hydroxide (NaOH)": 39.997, "sulfuric acid (H2SO4)": 98.079, "methane (CH4)": 16.043,
    "potassium chloride (KCl)": 74.55,
}  # fmt: skip
_SOLUTES = ["sodium chloride (NaCl)", "glucose (C6H12O6)", "sodium hydroxide (NaOH)", "potassium chloride (KCl)"]


def moles_from_mass(rng: random.Random) -> Item:
    name = rng.choice(sorted(_MOLAR_MASS))
    mm, m = _MOLAR_MASS[name], float(rng.randint(2, 250))
    n = m / mm
    return Item(
        f"How many moles are in {_n(m)} g of {name} (molar mass {mm} g/mol)?",
        n,
        "mol",
        f"n = m / M = {_n(m)} g / {mm} g/mol = {format_number(n)} mol.",
        [("inverted ratio M/m", mm / m), ("multiplied m M", m * mm), ("mol vs mmol", n * 1000)],
    )


def molarity(rng: random.Random) -> Item:
    name = rng.choice(_SOLUTES)
    mm, m, v_ml = _MOLAR_MASS[name], _pick(rng, 0.5, 50.0, 0.5), float(rng.randrange(50, 1001, 50))
    c = m / mm / (v_ml / 1000)
    return Item(
        f"{_n(m)} g of {name} (molar mass {mm} g/mol) is dissolved in water to make {_n(v_ml)} mL of solution. "
        "What is the molar concentration?",
        c,
        "mol/L",
        f"n = {_n(m)} g / {mm} g/mol = {format_number(m / mm)} mol; c = n / V = {format_number(m / mm)} mol / "
        f"{format_number(v_ml / 1000)} L = {format_number(c)} mol/L.",
        [("millilitres used as litres", c / 1000), ("grams used as moles", m / (v_ml / 1000)),
         ("inverted ratio V/n", (v_ml / 1000) / (m / mm))],  # fmt: skip
    )


def ideal_gas_volume(rng: random.Random) -> Item:
    n, t_c, p_atm = _pick(rng, 0.25, 4.0, 0.25), float(rng.randint(0, 100)), _pick(rng, 0.5, 3.0, 0.25)
    v = n * R_LATM * (t_c + 273.15) / p_atm
    return Item(
        f"What volume does {_n(n)} mol of an ideal gas occupy at {_n(t_c)} °C and {_n(p_atm)} atm? "
        "Use R = 0.082057 L atm/(mol K).",
        v,
        "L",
        f"V = n R T / P = {_n(n)} mol × 0.082057 L atm/(mol K) × {format_number(t_c + 273.15)} K / {_n(p_atm)} atm "
        f"= {format_number(v)} L.",
        [("Celsius used as Kelvin", n * R_LATM * max(t_c, 1.0) / p_atm), ("inverted ratio P/(nRT)", p_atm / (n * R_LATM * (t_c + 273.15))),
         ("used R = 8.314 with atm and L", n * R_GAS * (t_c + 273.15) / p_atm)],  # fmt: skip
    )


def ph_strong_acid(rng: random.Random) -> Item:
    acid = rng.choice(["HCl", "HNO3", "HBr", "HClO4"])
    c_mm = _pick(rng, 0.1, 50.0, 0.1)
    c = c_mm / 1000
    ph = -math.log10(c)
    return Item(
        f"What is the pH of a {_n(c_mm)} mM aqueous solution of the strong acid {acid}?",
        ph,
        "",
        f"{acid} dissociates completely, so [H+] = {format_number(c)} M and pH = -log10({format_number(c)}) = {format_number(ph)}.",
        [("mM used as M", -math.log10(c_mm)), ("sign error", math.log10(c)), ("natural log", -math.log(c))],
    )


_REACTIONS = [
    # (equation, reactant, its coefficient and molar mass, product, its coefficient and molar mass)
    ("2 H2 + O2 -> 2 H2O", "O2", 1, 31.998, "H2O", 2, 18.015),
    ("N2 + 3 H2 -> 2 NH3", "N2", 1, 28.014, "NH3", 2, 17.031),
    ("N2 + 3 H2 -> 2 NH3", "H2", 3, 2.016, "NH3", 2, 17.031),
    ("CH4 + 2 O2 -> CO2 + 2 H2O", "CH4", 1, 16.043, "H2O", 2, 18.015),
    ("2 Na + Cl2 -> 2 NaCl", "Cl2", 1, 70.90, "NaCl", 2, 58.44),
    ("2 KClO3 -> 2 KCl + 3 O2", "KClO3", 2, 122.55, "O2", 3, 31.998),
    ("C3H8 + 5 O2 -> 3 CO2 + 4 H2O", "C3H8", 1, 44.097, "CO2", 3, 44.01),
]


def stoichiometry_mass(rng: random.Random) -> Item:
    eq, x, nx, mx, y, ny, my = rng.choice(_REACTIONS)
    m = float(rng.randint(2, 200))
    out = m / mx * ny / nx * my
    return Item(
        f"For the reaction {eq}, what mass of {y} forms from {_n(m)} g of {x} with the other reactants in excess? "
        f"(Molar masses: {x} {mx} g/mol, {y} {my} g/mol.)",
        out,
        "g",
        f"n({x}) = {_n(m)} g / {mx} g/mol = {format_number(m / mx)} mol; n({y}) = {ny}/{nx} × that = "
        f"{format_number(m / mx * ny / nx)} mol; m({y}) = {format_number(m / mx * ny / nx)} mol × {my} g/mol = {format_number(out)} g.",
        [("ignored the mole ratio", m / mx * my), ("inverted the mole ratio", m / mx * nx / ny * my),
         ("skipped moles: mass times the ratio", m * ny / nx), ("g vs kg", out / 1000)],  # fmt: skip
    )


# --------------------------------------------------------------------------- biology


def dilution_volume(rng: random.Random) -> Item:
    c1, c2_mm, v2 = float(rng.choice([0.5, 1, 2, 5, 10])), float(rng.choice([5, 10, 20, 25, 50, 100, 200])), float(rng.randrange(50, 1001, 50))
    v1 = c2_mm / 1000 * v2 / c1
    return Item(
        f"A {_n(c1)} M stock solution of Tris buffer is diluted to make {_n(v2)} mL of {_n(c2_mm)} mM buffer. "
        "What volume of stock is needed?",
        v1,
        "mL",
        f"C1 V1 = C2 V2, so V1 = {format_number(c2_mm / 1000)} M × {_n(v2)} mL / {_n(c1)} M = {format_number(v1)} mL.",
        [("mM used as M", c2_mm * v2 / c1), ("inverted ratio C1/C2", c1 * v2 / (c2_mm / 1000)), ("subtracted from V2", v2 - v1)],
    )


def hardy_weinberg_carriers(rng: random.Random) -> Item:
    q2 = rng.choice([1 / 10000, 1 / 2500, 1 / 1600, 1 / 900, 1 / 400, 1 / 100, 0.04, 0.09, 0.16, 0.25])
    q = math.sqrt(q2)
    het = 2 * q * (1 - q)
    shown = f"1 in {round(1 / q2)}" if q2 < 0.02 else f"{_n(q2)}"
    return Item(
        f"A recessive trait appears in {shown} individuals of a population in Hardy-Weinberg equilibrium. What "
        "fraction of the population are heterozygous carriers?",
        het,
        "",
        f"q^2 = {format_number(q2)}, so q = {format_number(q)}, p = {format_number(1 - q)}, and 2pq = {format_number(het)}.",
        [("forgot the square root", 2 * q2 * (1 - q2)), ("gave pq", q * (1 - q)), ("gave p^2", (1 - q) ** 2)],
    )


def population_doubling(rng: random.Random) -> Item:
    n0, td, t_h = float(rng.choice([100, 200, 500, 1000, 5000])), float(rng.choice([20, 30, 40, 60])), float(rng.randint(2, 8))
    n = n0 * 2 ** (t_h * 60 / td)
    return Item(
        f"A bacterial culture starts with {_n(n0)} cells and doubles every {_n(td)} minutes. Assuming unlimited "
        f"exponential growth, how many cells are there after {_n(t_h)} hours?",
        n,
        "cells",
        f"{_n(t_h)} h = {_n(t_h * 60)} min = {format_number(t_h * 60 / td)} doublings, so N = {_n(n0)} × 2^{format_number(t_h * 60 / td)} "
        f"= {format_number(n)} cells.",
        [("linear instead of exponential", n0 * 2 * t_h * 60 / td), ("hours used as minutes", n0 * 2 ** (t_h / td)),
         ("one doubling too many", 2 * n)],  # fmt: skip
    )


def population_growth_rate(rng: random.Random) -> Item:
    n0, r, t = float(rng.randrange(100, 5001, 100)), _pick(rng, 0.02, 0.30, 0.01), float(rng.randint(3, 20))
    n = n0 * math.exp(r * t)
    return Item(
        f"A population of {_n(n0)} individuals grows continuously at a per-capita rate r = {_n(r)} per year. "
        f"Using N = N0 e^(r t), what is the population after {_n(t)} years?",
        n,
        "individuals",
        f"N = {_n(n0)} × e^({_n(r)} × {_n(t)}) = {_n(n0)} × e^{format_number(r * t)} = {format_number(n)} individuals.",
        [("linear growth N0 (1 + r t)", n0 * (1 + r * t)), ("sign error e^(-r t)", n0 * math.exp(-r * t)),
         ("divided r by t", n0 * math.exp(r / t))],  # fmt: skip
    )


def serial_dilution(rng: random.Random) -> Item:
    c0, k = float(rng.choice([1e8, 2e8, 5e8, 1e9, 3e9])), rng.randint(3, 6)
    c = c0 / 10**k
    return Item(
        f"A culture containing {format_number(c0, 3)} cells/mL is serially diluted {k} times, each time 1:10. What is "
        "the cell concentration after the last dilution?",
        c,
        "cells/mL",
        f"Each 1:10 step divides by 10, so c = {format_number(c0, 3)} / 10^{k} = {format_number(c)} cells/mL.",
        [("divided by 10 k instead of 10^k", c0 / (10 * k)), ("multiplied instead of divided", c0 * 10**k),
         ("one dilution too few", c * 10)],  # fmt: skip
    )


# topic name -> (subject, template)
TEMPLATES: dict[str, tuple[str, Callable[[random.Random], Item]]] = {
    "kinematics": ("physics", kinematics_distance),
    "free_fall": ("physics", free_fall_speed),
    "newton_force": ("physics", newton_force),
    "newton_friction": ("physics", newton_friction),
    "kinetic_energy": ("physics", kinetic_energy),
    "potential_energy": ("physics", potential_energy),
    "ohms_law": ("physics", ohms_law_current),
    "electrical_power": ("physics", electrical_power),
    "resistors_parallel": ("physics", resistors_parallel),
    "wavelength": ("physics", wave_wavelength),
    "wave_speed": ("physics", wave_speed),
    "gas_pressure": ("physics", gas_pressure),
    "pendulum": ("physics", pendulum_period),
    "charles_law": ("physics", charles_temperature),
    "moles": ("chemistry", moles_from_mass),
    "molarity": ("chemistry", molarity),
    "ideal_gas_volume": ("chemistry", ideal_gas_volume),
    "ph_strong_acid": ("chemistry", ph_strong_acid),
    "stoichiometry": ("chemistry", stoichiometry_mass),
    "dilution": ("biology", dilution_volume),
    "hardy_weinberg": ("biology", hardy_weinberg_carriers),
    "population_doubling": ("biology", population_doubling),
    "population_growth": ("biology", population_growth_rate),
    "serial_dilution": ("biology", serial_dilution),
}
SUBJECTS = ("physics", "chemistry", "biology")


def resolve_topics(topics: str | Sequence[str] | None) -> list[str]:
    """Template names from subjects (``"physics"``) and/or template names (``"pendulum"``)."""
    if topics is None:
        return list(TEMPLATES)
    if isinstance(topics, str):
        topics = [topics]
    chosen: list[str] = []
    for t in topics:
        if t in SUBJECTS:
            chosen.extend(name for name, (subject, _) in TEMPLATES.items() if subject == t)
        elif t in TEMPLATES:
            chosen.append(t)
        else:
            raise ValueError(
                f"unknown STEM topic {t!r}; subjects: {', '.join(SUBJECTS)}; topics: {', '.join(TEMPLATES)}"
            )
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise ValueError("topics selects no templates")
    return chosen


# --------------------------------------------------------------------------- prompts

_LETTERS = "ABCDEFGHIJ"


def numeric_prompt(question: str, has_unit: bool) -> str:
    what = "the number followed by its unit" if has_unit else "the number"
    return f"{question}\n\nSolve the problem step by step. Put your final answer, {what}, in \\boxed{{}}."


def choice_prompt(question: str, options: Sequence[str]) -> str:
    lines = "\n".join(f"{_LETTERS[i]}) {opt}" for i, opt in enumerate(options))
    return (
        f"{question}\n\n{lines}\n\nSolve the problem step by step, then put only the letter of the correct option "
        "in \\boxed{}."
    )


def _distinct(values: list[float], new: float) -> bool:
    if not math.isfinite(new) or new == 0:
        return False
    return all(abs(new - v) > 0.05 * max(abs(new), abs(v)) for v in values)


def _choice_values(item: Item, n: int) -> list[tuple[str, float]]:
    """The gold and ``n - 1`` distractors: the template's mistakes first, then factor slips.

    Every value differs from the others by more than 5 %, far beyond the verifier's
    tolerance and the 3-significant-figure rounding of option texts.
    """
    chosen: list[tuple[str, float]] = [("correct", item.value)]
    slips = [10, 0.1, 2, 0.5, 100, 0.01, 3, 1 / 3, 1000, 0.001, 5, 0.2]
    pool = list(item.mistakes) + [(f"off by a factor of {format_number(f, 3)}", item.value * f) for f in slips]
    for name, value in pool:
        if len(chosen) == n:
            break
        if _distinct([v for _, v in chosen], value):
            chosen.append((name, value))
    return chosen


def make_problem(rng: random.Random, index: int, *, kind: str, topics: Sequence[str], num_options: int = 4) -> dict[str, Any]:
    """One built-in problem as a ``{"prompt", "answer", "metadata"}`` dict."""
    topic = rng.choice(list(topics))
    subject, template = TEMPLATES[topic]
    item = template(rng)
    if kind == "mixed":
        kind = rng.choice(["numeric", "choice"])
    gold_text = format_quantity(item.value, item.unit)
    metadata: dict[str, Any] = {"topic": topic, "subject": subject, "solution": item.solution, "kind": kind}
    if kind == "numeric":
        metadata["unit"] = item.unit
        return {"prompt": numeric_prompt(item.question, bool(item.unit)), "answer": gold_text, "metadata": metadata}
    values = _choice_values(item, num_options)
    order = list(range(len(values)))
    rng.shuffle(order)
    options = [format_quantity(values[k][1], item.unit, sig=3) for k in order]
    letter = _LETTERS[order.index(0)]
    metadata.update(
        options=options,
        answer_text=options[order.index(0)],
        mistakes={_LETTERS[i]: values[k][0] for i, k in enumerate(order) if k != 0},
    )
    return {"prompt": choice_prompt(item.question, options), "answer": letter, "metadata": metadata}
