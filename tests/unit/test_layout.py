"""The folder tree is the architecture: imports only go down the layers, and modules stay small."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A module may import its own layer and the layers below it, never above.
LAYERS: list[set[str]] = [
    {"zylin", "zylin.config", "zylin.logging_setup"},
    {"zylin.business", "zylin.metrics", "zylin.engines", "zylin.end_reason"},
    {"zylin.storage", "zylin.telephony", "zylin.prompts", "zylin.local"},
    {"zylin.state"},  # what lives as long as the server
    {"zylin.fallback", "zylin.owner"},
    {"zylin.call"},  # one streamed call (it can hand the call to the fallback path)
    {"zylin.app"},  # the FastAPI app: routes and middleware
    {"tools", "processors"},  # what bot.py puts in a call's pipeline
    {"bot", "eval_runner"},  # eval_runner: text calls through the call's LLM service and tools
    {"server"},
]
# Tools for developers sit beside the product: they use it and never the tests.
DEVTOOLS_MAY_NOT_IMPORT = {"tests", "bot", "server", "tools", "processors"}
MAX_LINES = 400


def _layer_of(group: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if group in names), None)


def _group(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "zylin" and len(parts) > 1 else parts[0]


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = parts[1:] if parts[0] == "src" else parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    found = [*ROOT.glob("src/zylin/**/*.py"), *ROOT.glob("devtools/**/*.py")]
    found += [*ROOT.glob("tools/*.py"), *ROOT.glob("processors/*.py")]
    found += [*ROOT.glob("eval_runner/*.py")]
    found += [ROOT / "bot.py", ROOT / "server.py"]
    return sorted(p for p in found if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_package_has_a_layer() -> None:
    groups = {_group(_module_of(p)) for p in _sources()} - {"devtools"}
    assert {g for g in groups if _layer_of(g) is None} == set()


def _violations(path: Path) -> set[str]:
    own = _group(_module_of(path))
    if own == "devtools":
        return {m for m in _imports(path) if _group(m) in DEVTOOLS_MAY_NOT_IMPORT}
    level = _layer_of(own)
    assert level is not None, own
    return {
        m for m in _imports(path) if (other := _layer_of(_group(m))) is not None and other > level
    }


def test_imports_only_go_down() -> None:
    upward = {str(p.relative_to(ROOT)): sorted(v) for p in _sources() if (v := _violations(p))}
    assert upward == {}


def test_no_module_outside_the_tests_is_over_the_size_limit() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _sources()}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
