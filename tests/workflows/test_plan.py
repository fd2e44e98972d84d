from terrasynth.workflows.plan import cli, plan_corpus


def test_plan_counts_tiles_per_level():
    plans = plan_corpus("8.9,45.9,9.3,46.1", "60,16,4", 256)
    by_level = {p.level: p for p in plans}
    assert set(by_level) == {"60m", "16m", "4m"}
    assert by_level["60m"].shape[0] * 60 == by_level["4m"].shape[0] * 4
    for p in plans:
        rows, cols = p.shape
        assert p.tiles == -(-rows // 256) * -(-cols // 256)


def test_plan_prints_a_summary(capsys):
    cli(aoi="5,10,20,12", levels="60,16", tile_size=256)
    out = capsys.readouterr().out
    assert "4 region(s)" in out and "EPSG:32634" in out
