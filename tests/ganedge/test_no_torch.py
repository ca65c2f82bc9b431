import subprocess
import sys


def test_runtime_and_cli_import_without_torch() -> None:
    code = "import sys, ganedge, ganedge.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
