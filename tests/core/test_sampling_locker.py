import json

import pandas as pd
import pytest
from auditbook import locker
from auditbook.sampling import draw, in_order, sample_size


def sample(pop, seed=42, test_id="CC8.1-APPROVED"):
    return draw(in_order(pop, ["id"]), ["id"], 25, seed, test_id)


def test_same_seed_same_sample_whatever_the_row_order():
    pop = pd.DataFrame({"id": [f"r{i:03}" for i in range(200)], "v": range(200)})
    a = sample(pop)
    b = sample(pop.sample(frac=1, random_state=1))
    assert list(a.frame["id"]) == list(b.frame["id"]) and a.seed == b.seed
    assert list(sample(pop, seed=43).frame["id"]) != list(a.frame["id"])
    assert list(sample(pop, test_id="CC8.1-FINAL-COMMIT").frame["id"]) != list(a.frame["id"])
    assert "random_state" in a.method and str(a.seed) in a.method


def test_population_row_is_the_row_number_in_the_ordered_population():
    pop = pd.DataFrame({"id": [f"r{i:03}" for i in range(200)][::-1]})
    ordered = in_order(pop, ["id"])
    for row in sample(pop).frame.itertuples():
        assert ordered.iloc[row.population_row - 1]["id"] == row.id


def test_sample_size_comes_from_the_frequency_table_and_never_exceeds_the_population():
    sizes = {"quarterly": 2, "per_event": 25}
    assert sample_size(sizes, "per_event", 1000) == 25
    assert sample_size(sizes, "per_event", 7) == 7
    with pytest.raises(KeyError, match="hourly"):
        sample_size(sizes, "hourly", 10)


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "run"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "a.pdf").write_bytes(b"%PDF-1.7 demo")
    (root / "results.json").write_text(json.dumps({"status": "PASS"}))
    locker.write_manifest(root, {"run_id": "20261003T061500Z"})
    return root


def test_verify_passes_on_an_untouched_package(package):
    result = locker.verify(package)
    assert result.ok and result.checked == 2


def test_verify_names_changed_missing_and_added_files(package):
    data = bytearray((package / "reports" / "a.pdf").read_bytes())
    data[0] ^= 1
    (package / "reports" / "a.pdf").write_bytes(bytes(data))
    (package / "results.json").unlink()
    (package / "extra.csv").write_text("x")
    result = locker.verify(package)
    assert not result.ok
    assert result.lines() == ["changed: reports/a.pdf", "missing: results.json", "added: extra.csv"]


def test_verify_without_manifest_is_a_problem_not_a_pass(tmp_path):
    (tmp_path / "f").write_text("x")
    assert not locker.verify(tmp_path).ok


def test_publish_never_overwrites(tmp_path):
    staging, final = tmp_path / "s", tmp_path / "f"
    staging.mkdir()
    final.mkdir()
    (final / "keep").write_text("earlier run")
    with pytest.raises(locker.PackageError, match="never overwritten"):
        locker.publish(staging, final)
    assert (final / "keep").read_text() == "earlier run"
