import terrasynth.models.detector as detector


def test_every_exported_name_resolves():
    for name in detector.__all__:
        assert getattr(detector, name) is not None, name
