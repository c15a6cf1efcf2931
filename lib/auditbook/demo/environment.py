"""The embedded demo: emulators for the demo company, reached through standard variables only."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from auditbook.demo import truth_yaml
from auditbook.demo.aws import DemoAws, patched_environ
from auditbook.demo.github.company import DEMO_TOKEN, build_demo_github
from auditbook.demo.github.labs import build_labs_github
from auditbook.demo.github.server import GitHubEmulator
from auditbook.resources import demo_params

DEMO_PARAMS = demo_params()
DEMO_PERIOD = "2026-Q3"


class DemoEnvironment:
    """Starts the AWS and GitHub emulators with the demo company; ``env`` is how anything reaches them."""

    def __init__(self) -> None:
        self.aws = DemoAws()
        self.github = GitHubEmulator(build_demo_github(), build_labs_github())  # demo-fintech and its labs org
        from auditbook.demo import snapshots as demo_snapshots

        demo_snapshots.record_audit_log(self.github.state)
        self._patch: Any = None
        self.faults: Any = None  # auditbook.demo.faults.Faults: the request log and fault injection

    @property
    def env(self) -> dict[str, str]:
        return {**self.aws.env, "GITHUB_API_URL": self.github.url, "GITHUB_TOKEN": DEMO_TOKEN}

    def __enter__(self) -> DemoEnvironment:
        self.aws.start()
        self.github.start()
        from auditbook.demo import faults

        self.faults = faults.Faults(faults.attach_aws(self.aws), faults.attach_github(self.github))
        self._patch = patched_environ(self.env)
        self._patch.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._patch is not None:
            self._patch.__exit__(None, None, None)
        github = threading.Thread(target=self.github.stop, name="github-emulator-stop")
        github.start()  # both at once: moto's server takes up to half a second to notice its stop request
        self.aws.stop()
        github.join()


def truth_files() -> list[Path]:
    return sorted(truth_yaml.TRUTH_DIR.glob("*.yaml"))
