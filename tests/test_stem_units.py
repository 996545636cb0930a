"""STEM unit system and quantity reading: prolong.envs.stem.units."""

from fractions import Fraction

import pytest

from prolong.envs.stem.units import QuantityError, UnitError, parse_quantity, parse_unit


def dims(m=0, kg=0, s=0, A=0, K=0, mol=0, cd=0):
    return tuple(Fraction(x) for x in (m, kg, s, A, K, mol, cd))


@pytest.mark.parametrize(
    "text, scale, expected_dims",
    [
        ("m/s", 1.0, dims(m=1, s=-1)),
        ("km/s", 1e3, dims(m=1, s=-1)),
        ("m s^-1", 1.0, dims(m=1, s=-1)),
        ("m\\,s^{-1}", 1.0, dims(m=1, s=-1)),
        ("\\mathrm{m\\,s^{-1}}", 1.0, dims(m=1, s=-1)),
        ("\\text{km/h}", 1e3 / 3600, dims(m=1, s=-1)),
        ("kg·m/s²", 1.0, dims(m=1, kg=1, s=-2)),
        ("J/(mol K)", 1.0, dims(m=2, kg=1, s=-2, K=-1, mol=-1)),
        ("J/mol K", 1.0, dims(m=2, kg=1, s=-2, K=-1, mol=-1)),  # chemists' reading: all after '/' divides
        ("J/mol/K", 1.0, dims(m=2, kg=1, s=-2, K=-1, mol=-1)),
        ("J mol^{-1} K^{-1}", 1.0, dims(m=2, kg=1, s=-2, K=-1, mol=-1)),
        ("\\frac{m}{s^2}", 1.0, dims(m=1, s=-2)),
        ("\\mu F", 1e-6, dims(m=-2, kg=-1, s=4, A=2)),
        ("µF", 1e-6, dims(m=-2, kg=-1, s=4, A=2)),  # micro sign U+00B5
        ("μF", 1e-6, dims(m=-2, kg=-1, s=4, A=2)),  # Greek mu U+03BC
        ("uF", 1e-6, dims(m=-2, kg=-1, s=4, A=2)),
        ("kΩ", 1e3, dims(m=2, kg=1, s=-3, A=-2)),
        ("k\\Omega", 1e3, dims(m=2, kg=1, s=-3, A=-2)),
        ("kohm", 1e3, dims(m=2, kg=1, s=-3, A=-2)),
        ("\\%", 0.01, dims()),
        ("mL", 1e-6, dims(m=3)),
        ("cm^3", 1e-6, dims(m=3)),
        ("cm3", 1e-6, dims(m=3)),
        ("s-1", 1.0, dims(s=-1)),
        ("mM", 1.0, dims(m=-3, mol=1)),
        ("mol/L", 1e3, dims(m=-3, mol=1)),
        ("eV", 1.602176634e-19, dims(m=2, kg=1, s=-2)),
        ("kWh", 3.6e6, dims(m=2, kg=1, s=-2)),
        ("N m", 1.0, dims(m=2, kg=1, s=-2)),
        ("Nm", 1.0, dims(m=2, kg=1, s=-2)),
        ("atm", 101325.0, dims(m=-1, kg=1, s=-2)),
        ("mmHg", 133.322387415, dims(m=-1, kg=1, s=-2)),
        ("bar", 1e5, dims(m=-1, kg=1, s=-2)),
        ("kcal", 4184.0, dims(m=2, kg=1, s=-2)),
        ("min", 60.0, dims(s=1)),
        ("h", 3600.0, dims(s=1)),
        ("Hz", 1.0, dims(s=-1)),
        ("T", 1.0, dims(kg=1, s=-2, A=-1)),
        ("H", 1.0, dims(m=2, kg=1, s=-2, A=-2)),
        ("V", 1.0, dims(m=2, kg=1, s=-3, A=-1)),
        ("W", 1.0, dims(m=2, kg=1, s=-3)),
        ("Pa", 1.0, dims(m=-1, kg=1, s=-2)),
        ("C", 1.0, dims(s=1, A=1)),
        ("meters per second", 1.0, dims(m=1, s=-1)),
        ("kilograms", 1.0, dims(kg=1)),
        ("\\si{\\kilo\\gram\\per\\cubic\\meter}", 1.0, dims(m=-3, kg=1)),
        ("cells/mL", 1e6, dims(m=-3)),
        ("", 1.0, dims()),
    ],
)
def test_unit_strings_parse_to_scale_and_dimension(text, scale, expected_dims):
    unit = parse_unit(text)
    assert unit.dims == expected_dims
    assert unit.scale == pytest.approx(scale, rel=1e-9)


@pytest.mark.parametrize("text", ["°C", "\\degree C", "^\\circ C", "^{\\circ}\\mathrm{C}", "℃", "degrees Celsius"])
def test_celsius_spellings_are_an_absolute_temperature(text):
    unit = parse_unit(text)
    assert unit.dims == dims(K=1)
    assert unit.to_si(25.0) == pytest.approx(298.15)


def test_fahrenheit_converts_affinely():
    assert parse_unit("°F").to_si(212.0) == pytest.approx(373.15)


def test_celsius_inside_a_compound_unit_is_a_temperature_difference():
    unit = parse_unit("J/(g °C)")
    assert unit.offset == 0.0 and unit.scale == pytest.approx(1000.0)
    assert unit.dims == dims(m=2, s=-2, K=-1)


@pytest.mark.parametrize("text", ["furlongs", "m/s)", "(m", "m^", "m^{x}", "m^{99}", "kg" * 20, "m " * 150, "\\foo"])
def test_bad_unit_strings_raise_unit_error(text):
    with pytest.raises(UnitError):
        parse_unit(text)


def test_deeply_nested_unit_is_refused():
    with pytest.raises(UnitError, match="nested too deeply"):
        parse_unit("(" * 20 + "m" + ")" * 20)


@pytest.mark.parametrize(
    "text, value_si",
    [
        ("3.0e8 m/s", 3.0e8),
        ("3.0E+08 m/s", 3.0e8),
        ("300000 km/s", 3.0e8),
        ("300\\,000 km/s", 3.0e8),
        ("300{,}000 km/s", 3.0e8),
        ("3 \\times 10^{8}\\ \\mathrm{m\\,s^{-1}}", 3.0e8),
        ("3\\cdot10^8 m/s", 3.0e8),
        ("3 x 10^8 m/s", 3.0e8),
        ("3.0×10⁸ m/s", 3.0e8),
        ("3*10**8 m/s", 3.0e8),
        ("10^{-3} m", 1e-3),
        ("−5 m", -5.0),  # unicode minus
        ("v = 2.5 m/s", 2.5),
        ("v \\approx 2.5 m/s", 2.5),
        ("about 2.5 m/s", 2.5),
        ("\\frac{1}{2} mol", 0.5),
        ("1/4 mol", 0.25),
        ("25\\%", 0.25),
        ("-273.15 \\degree C", 0.0),
        ("\\SI{3}{\\meter\\per\\second}", 3.0),
        ("12 \\mu\\text{A}", 12e-6),
        ("２.５ ｍ", 2.5),  # full-width
        ("5 m/s to the north", 5.0),
    ],
)
def test_quantities_read_to_si(text, value_si):
    q = parse_quantity(text)
    assert q.si == pytest.approx(value_si, abs=1e-12)


def test_quantity_without_unit_has_none():
    q = parse_quantity("42")
    assert q.value == 42.0 and q.unit is None and q.unit_error is None


def test_unknown_unit_is_reported_not_raised():
    q = parse_quantity("3 furlongs")
    assert q.value == 3.0 and q.unit is None and "furlongs" in q.unit_error


@pytest.mark.parametrize("text", ["3 m/s or 5 m/s", "3, 5", "2 \\times 3 J"])
def test_two_numbers_are_ambiguous(text):
    with pytest.raises(QuantityError) as e:
        parse_quantity(text)
    assert e.value.ambiguous


@pytest.mark.parametrize("text", ["1e999999 m", "10^{99999999999} m", "\\sqrt{2} m", "2\\pi", "no number", "x" * 500])
def test_non_numbers_and_absurd_exponents_raise(text):
    with pytest.raises(QuantityError) as e:
        parse_quantity(text)
    assert not e.value.ambiguous
