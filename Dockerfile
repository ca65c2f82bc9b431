# ganedge on the CPU: the runtime, training and export. PyTorch comes from its CPU wheel index:
# pip's default torch wheel on Linux is the multi-GB CUDA build.
#   docker build -t ganedge .
#   docker run --rm -v "$PWD/runs:/work/runs" ganedge train -o runs/digits
FROM python:3.12-slim

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE THIRD_PARTY.md ./
COPY ganedge ganedge
COPY trainer trainer
COPY exports exports
RUN pip install '.[train]' --extra-index-url https://download.pytorch.org/whl/cpu

# runs and models are written under the working folder: mount it to keep them
WORKDIR /work
ENTRYPOINT ["ganedge"]
CMD ["--help"]
