import pytest

from terrasynth.core import DEFAULT_LADDER, ConfigError, Level, common_pitch, parse_levels


def test_level_names_follow_the_resolution():
    assert Level(60).name == "60m"
    assert Level(0.5).name == "0.5m"
    assert Level.parse("16m") == Level.parse("16") == Level.parse(16.0) == Level(16.0)
    assert [level.name for level in DEFAULT_LADDER] == ["60m", "16m", "4m"]


def test_parse_levels_orders_coarse_to_fine():
    assert [level.gsd for level in parse_levels("4,60m, 16")] == [60, 16, 4]


@pytest.mark.parametrize(
    "spec, message", [("", "no levels"), ("16,16m", "repeat"), ("abc", "cannot read"), ("-4", "positive")]
)
def test_parse_levels_rejects_bad_input(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_levels(spec)


@pytest.mark.parametrize(
    "gsds, pitch",
    [
        ((60, 16, 4), 240.0),
        ((60, 16), 240.0),
        ((10, 4.77), 4770.0),
        ((0.5, 60), 60.0),
        ((4,), 4.0),
        ((0.6, 0.4), 1.2),
    ],
)
def test_common_pitch_is_the_least_common_multiple(gsds, pitch):
    assert common_pitch([Level(g) for g in gsds]) == pytest.approx(pitch)
    for g in gsds:
        assert (pitch / g) == pytest.approx(round(pitch / g))
