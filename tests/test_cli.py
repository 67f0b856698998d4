import subprocess
import sys

from typer.testing import CliRunner

from ascolto.cli import app

runner = CliRunner()


def test_every_command_has_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "demo"):
        assert name in result.output
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0 and len(sub.output) > 100


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and "ascolto" in result.output


def test_help_imports_no_heavy_library():
    code = (
        "import sys, ascolto.cli; "
        "heavy = [m for m in ('prefect', 'faster_whisper', 'bertopic', 'torch', 'duckdb', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_folder_is_a_clear_error_with_exit_2(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "--recordings",
            str(tmp_path / "nowhere"),
            "--manifest",
            str(tmp_path / "m.csv"),
            "--cases",
            str(tmp_path / "c.csv"),
            "--data-dir",
            str(tmp_path / "d"),
        ],
    )
    assert result.exit_code == 2
    assert "recordings folder not found" in result.output
