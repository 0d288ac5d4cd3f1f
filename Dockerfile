# syntax=docker/dockerfile:1
# The image every task of the compiled Kubeflow spec runs (kubeflow_runner.py --image).
#
#   docker build --platform linux/amd64 -t REGISTRY/pet-segmentation:TAG .
#   docker push REGISTRY/pet-segmentation:TAG
#
# linux/amd64 only: uv.lock is resolved for Linux x86_64 alone.
#
# The GPU variant adds pyproject.toml's `gpu` extra (TensorFlow's CUDA and cuDNN wheels,
# about 2.8 GB more); the host or cluster provides the NVIDIA driver:
#
#   docker build --platform linux/amd64 --build-arg EXTRAS=gpu -t REGISTRY/pet-segmentation:TAG-gpu .
#
# Each task runs the command the compiled spec gives it (the image's ENTRYPOINT is never
# used): `python -m orchestration.kubeflow.entrypoint ...` on open-source Kubeflow
# Pipelines, TFX's `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor
# ...` on Vertex AI. So the image holds the locked environment plus this project installed:
# the task entrypoint (orchestration.*), the custom components (components.*), the TFMA
# metric module (evaluation.*), sources.* and the Transform and Trainer code (models.*,
# imported by name). Rebuild the image whenever the code changes.

# Builder: uv and a C++ compiler (pyfarmhash, a TFX dependency, ships only as source).
FROM python:3.11-slim AS builder
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
# The image's own Python 3.11, never a downloaded one; compile .pyc files now, because every
# task is a fresh container and `import tfx` is slow enough without compiling.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app
# An extra of pyproject.toml to install as well (`gpu`), or none (the default: CPU only).
ARG EXTRAS=""

# Dependencies first, from the lockfile alone: this layer is rebuilt only when they change.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project ${EXTRAS:+--extra "$EXTRAS"}

# Then the project itself (what .dockerignore lets through), installed into the same venv.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable ${EXTRAS:+--extra "$EXTRAS"}

# Runtime: the same base (the venv's python links to its /usr/local/bin/python3.11), without
# the compiler.
FROM python:3.11-slim
COPY --from=builder /app/.venv /app/.venv
# `python` is the venv's. tf.Transform needs Keras 2 (tf_keras), chosen before TensorFlow is
# first imported; the TFX entrypoint imports TensorFlow before any of this project's modules.
ENV PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONUNBUFFERED=1
# Beam's SDK workers (a worker pool for Flink, Spark or the portable runner; see
# docs/kubeflow.md, Beam on a distributed engine) unpickle StatisticsGen's code without
# importing tfx first, so they lack the stand-in tfx puts in place of tfx-bsl's missing
# sql_util: this .pth installs it in every Python process of the image.
RUN echo "import orchestration.sql_util_standin" \
    > /app/.venv/lib/python3.11/site-packages/zz_sql_util_standin.pth \
    && python -c "import tensorflow_data_validation"
# Kubeflow Pipelines 2.x runs pods with runAsNonRoot: a numeric non-root user, with a home
# for the caches TFDS and Keras write.
RUN useradd --uid 1000 --create-home app
USER 1000
WORKDIR /home/app
CMD ["python"]
