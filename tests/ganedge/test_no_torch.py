import json
import subprocess
import sys


def test_runtime_and_cli_import_without_torch() -> None:
    code = "import sys, ganedge, ganedge.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_eval_runs_without_torch_and_scikit_learn(tmp_path) -> None:
    # a runtime-only install: importing torch, sklearn or scipy fails, as if not installed
    code = ("import sys\n"
            "class Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'sklearn', 'scipy'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Hide())\n"
            "sys.argv = ['ganedge', 'eval', '-n', '200', '--json', '--no-progress']\n"
            "from ganedge.cli import main\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["protocol"]["n_fake"] == 200 and report["protocol"]["n_real"] > 0


def test_torch_side_commands_name_what_is_missing(tmp_path) -> None:
    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['ganedge', 'train', '-h'];"
            "from ganedge.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr == ("error: `ganedge train` needs the torch package, which is not "
                             "installed: pip install 'ganedge[train]' brings it\n")
