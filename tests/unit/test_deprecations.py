"""Zylin's own code raises no DeprecationWarning: every module imported and every per-call
service built in a fresh interpreter, with each warning's origin checked."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, json, sys, warnings
from datetime import UTC, datetime
from pathlib import Path

root = Path(sys.argv[1])
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    paths = [*root.glob("src/zylin/**/*.py"), *root.glob("devtools/**/*.py")]
    paths += [*root.glob("tools/*.py"), *root.glob("processors/*.py")]
    paths += [*root.glob("eval_runner/*.py"), root / "bot.py", root / "server.py"]
    for path in sorted(paths):
        if "migrations" in path.parts or path.name == "__main__.py":
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        parts = parts[1:] if parts[0] == "src" else parts
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))

    from zylin.business import load_profile
    from zylin.call.services import make_services
    from zylin.config import ROOT, Settings
    from zylin.engines import Engines

    profile = load_profile(ROOT / "business" / "example_profile.yaml")
    for values in ({}, {"deepgram_api_key": "k", "openai_api_key": "k"}):
        settings = Settings(_env_file=None, **values)
        make_services(settings, Engines.choose(settings), profile, lambda: datetime.now(UTC), "x")

ours = [
    {"file": w.filename, "line": w.lineno, "message": str(w.message)}
    for w in caught
    if issubclass(w.category, DeprecationWarning)
    and not w.filename.startswith("<")  # "<frozen abc>": a class Pipecat defines from its own
    and str(root) in str(Path(w.filename).resolve())
    and ".venv" not in Path(w.filename).parts
]
print(json.dumps(ours))
"""


def test_our_code_raises_no_deprecation_warning() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
