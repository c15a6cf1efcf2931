import pytest
import yaml
from auditbook import params

MINIMAL = {"organization": "X", "scope": {"aws": {"accounts": [{"id": "111111111111"}]}}}


def test_defaults_are_filled_from_the_schema():
    resolved = params.validate(MINIMAL)
    assert resolved["criteria"]["CC6.1"]["dormant_days"] == 90
    assert resolved["criteria"]["CC6.1"]["password_policy"]["minimum_length"] == 14
    assert resolved["sampling"]["sizes"]["quarterly"] == 2
    assert resolved["scope"]["aws"]["regions"] == ["us-east-1"]
    assert resolved["scope"]["aws"]["accounts"][0]["role_arn"] is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.update(colour="blue"), "unknown key colour"),
    (lambda p: p["scope"]["aws"].update(regionz=["x"]), "unknown key scope.aws.regionz"),
    (lambda p: p.update(criteria={"CC6.1": {"dormant_days": "ninety"}}), "criteria.CC6.1.dormant_days"),
    (lambda p: p.update(criteria={"CC9.9": {}}), "unknown key criteria.CC9.9"),
    (lambda p: p["scope"]["aws"]["accounts"][0].update(id="12345"), "scope.aws.accounts.0.id"),
    (lambda p: p.pop("organization"), "'organization' is a required property"),
    (lambda p: p.update(coverage={"accept": {"CC6.1-MFAA": "typo"}}), "coverage.accept.CC6.1-MFAA: no such test"),
    (lambda p: p.update(coverage={"accept": {"CC6.1-MFA": ""}}), "coverage.accept.CC6.1-MFA"),
])
def test_bad_params_name_the_key(change, message):
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    change(data)
    with pytest.raises(params.ParamsError) as err:
        params.validate(data, "p.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("p.yaml: ")
    assert "\n" not in str(err.value)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(params.ParamsError, match="no such params file"):
        params.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: [unclosed\n")
    with pytest.raises(params.ParamsError, match="invalid YAML at line"):
        params.load(bad)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("organization: Soci\xe9t\xe9\n".encode("latin-1"))
    with pytest.raises(params.ParamsError, match="cannot read"):
        params.load(latin)


def test_shipped_params_files_are_valid():
    from auditbook.resources import demo_params, example_params

    for path in (demo_params(), example_params()):
        params.load(path)


def test_digest_is_stable_and_sensitive():
    a = params.validate(MINIMAL)
    b = params.validate(MINIMAL)
    assert params.digest(a) == params.digest(b)
    b["criteria"]["CC6.1"]["dormant_days"] = 91
    assert params.digest(a) != params.digest(b)
