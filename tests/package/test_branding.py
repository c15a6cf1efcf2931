"""The organization's look (params ``report``): a logo, an accent colour and a confidentiality line, checked as
params (one-line errors) and shown on the covers, the index and every page footer."""

from __future__ import annotations

import pytest
import yaml
from auditbook import params as params_mod
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import ParamsError
from auditbook.report.branding import accent_css, branding


def _params(tmp_path, report: dict) -> str:
    data = yaml.safe_load(DEMO_PARAMS.read_text())
    data["report"] = report
    data["exceptions_file"] = None
    for settings in data["criteria"].values():
        for name, value in settings.items():
            if isinstance(value, str) and value.startswith("../"):
                settings[name] = str((DEMO_PARAMS.parent / value).resolve())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(("report", "files", "message"), [
    ({"accent_colour": "blue"}, {}, "report.accent_colour"),
    ({"logo": "missing.png"}, {}, "report.logo: "),
    ({"logo": "logo.gif"}, {"logo.gif": b"GIF89a"}, "report.logo: logo.gif is not a PNG, JPEG or SVG file"),
    ({"logo": "big.png"}, {"big.png": b"\x89PNG" + b"0" * 300_000}, "report.logo: big.png is larger than 256 KiB"),
    ({"confidentiality": "x" * 201}, {}, "report.confidentiality"),
])
def test_bad_report_params_are_one_line_errors(tmp_path, report, files, message):
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    with pytest.raises(ParamsError) as err:
        params_mod.load(_params(tmp_path, report))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_logo_travels_as_a_data_uri_relative_to_the_params_file(tmp_path):
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>")
    look = branding(params_mod.load(_params(tmp_path, {"logo": "logo.svg", "accent_colour": "#0B5394",
                                                       "confidentiality": "Confidential"})))
    assert look["logo"].startswith("data:image/svg+xml;base64,")
    assert look["confidentiality"] == "Confidential" and "color: #0B5394" in accent_css(look["accent_colour"])
    assert branding({"report": {}}) == {"logo": "", "accent_colour": "", "confidentiality": ""}


def test_the_demo_package_shows_the_demo_companys_look(demo_run):
    index = (demo_run.run_dir / "reports" / "index.html").read_text()
    assert "<img class=\"ab-logo\" alt=\"Demo Fintech Inc. logo\" src=\"data:image/svg+xml;base64," in index
    assert "h1, h2, .ab-toc h2 { color: #0b5394; }" in index
    report = (demo_run.run_dir / "reports" / "CC8.1.html").read_text()
    assert "<img class='ab-logo' alt='logo' src='data:image/svg+xml;base64," in report
    assert "Confidential" in report  # in the footer's CSS string (hex-escaped punctuation)
