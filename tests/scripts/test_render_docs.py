"""scripts/render_docs.py: tables regenerated between markers from results JSON, and the documents in sync with theirs."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def render_docs():
    spec = importlib.util.spec_from_file_location("render_docs", ROOT / "scripts" / "render_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documents_tables_are_what_their_json_gives():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_docs.py"), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_a_block_is_replaced_by_its_renderer_and_the_rest_is_kept(render_docs, tmp_path, monkeypatch):
    results = tmp_path / "r.json"
    results.write_text(json.dumps({"value": 42}))
    module = tmp_path / "toy_renderer.py"
    module.write_text("def table(record, markdown=True):\n    return f'| value |\\n|---:|\\n| {record[\"value\"]} |'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(render_docs, "ROOT", tmp_path)
    text = "intro\n<!-- table: toy_renderer:table r.json -->\nstale\n<!-- /table -->\nafter\n"
    assert render_docs.render_document(text) == "intro\n<!-- table: toy_renderer:table r.json -->\n| value |\n|---:|\n| 42 |\n<!-- /table -->\nafter\n"


@pytest.mark.parametrize("spec, message", [("nowhere:table", "no renderer nowhere:table"), ("render_docs:bench_table missing.json", "cannot read missing.json")])
def test_a_broken_marker_is_one_clear_error(render_docs, spec, message):
    with pytest.raises(SystemExit, match=message):
        render_docs.render_document(f"<!-- table: {spec} -->\n<!-- /table -->\n")
