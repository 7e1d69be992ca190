from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deployable_code_lives_in_functions() -> None:
    assert (ROOT / "functions" / "main.py").is_file()
    assert (ROOT / "functions" / "requirements.txt").is_file()
