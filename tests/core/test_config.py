import pytest
from pydantic import Field

from terrasynth.core import Config, ConfigError, load_config


class Settings(Config):
    levels: tuple[float, ...] = (60.0, 16.0, 4.0)
    tile_size: int = Field(256, ge=16)
    name: str = "demo"


def test_yaml_and_toml(tmp_path):
    (tmp_path / "a.yaml").write_text("levels: [30, 10]\ntile_size: 128\n")
    (tmp_path / "a.toml").write_text("levels = [30, 10]\ntile_size = 128\n")
    assert load_config(Settings, tmp_path / "a.yaml") == load_config(Settings, tmp_path / "a.toml")
    assert load_config(Settings, tmp_path / "a.yaml").levels == (30.0, 10.0)


def test_overrides_win_and_none_is_ignored(tmp_path):
    (tmp_path / "a.yaml").write_text("tile_size: 128\nname: x\n")
    settings = load_config(Settings, tmp_path / "a.yaml", tile_size=64, name=None)
    assert (settings.tile_size, settings.name) == (64, "x")
    assert settings.echo() == {"levels": [60.0, 16.0, 4.0], "tile_size": 64, "name": "x"}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.yaml", "tile_sise: 3\n", "tile_sise: Extra inputs are not permitted"),
        ("a.yaml", "tile_size: 8\n", "tile_size: Input should be greater than or equal to 16"),
        ("a.yaml", "levels: [a]\ntile_size: x\n", r"levels.0: .* \(and 1 more\)"),
        ("a.yaml", "levels: [1, 2\n", "cannot be parsed"),
        ("a.toml", "levels = [1, 2\n", "cannot be parsed"),
        ("a.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("a.json", "{}", "must end in"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(Settings, tmp_path / name)
    assert "\n" not in str(caught.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Settings, "nope.yaml")


def test_differing_keys_name_every_changed_added_or_dropped_key():
    from terrasynth.core.config import differing_keys

    assert differing_keys({"a": 1, "b": 2}, {"a": 1, "b": 2}) == []
    assert differing_keys({"a": 1, "b": 3, "c": 0}, {"a": 1, "b": 2, "d": 0}) == ["b", "c", "d"]
