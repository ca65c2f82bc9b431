"""``python -m trainer`` is ``ganedge train``."""

from ganedge.cli import app

if __name__ == "__main__":
    app(["train", *__import__("sys").argv[1:]], prog_name="python -m trainer")
