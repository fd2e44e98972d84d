import pytest


@pytest.fixture(scope="session")
def change_benchmarks(generators, tmp_path_factory):
    """LEVIR-CD, S2Looking and SECOND fixture folders (tests/data/{levircd,s2looking,second}/data.py)."""
    root = tmp_path_factory.mktemp("benchmarks")
    generators("levircd").write_levircd(root / "LEVIR-CD")
    generators("s2looking").write_s2looking(root / "S2Looking")
    generators("second").write_second(root / "SECOND")
    return {"levir-cd": root / "LEVIR-CD", "s2looking": root / "S2Looking", "second": root / "SECOND"}
