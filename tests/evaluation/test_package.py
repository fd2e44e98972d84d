import terrasynth.evaluation as evaluation


def test_every_exported_name_resolves():
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name
