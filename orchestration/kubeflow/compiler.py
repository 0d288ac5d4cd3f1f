"""Compiling the one pipeline definition for a Kubeflow Pipelines backend.

Two targets, each written the way its backend reads it:

- "kubeflow", open-source Kubeflow Pipelines 2.x: a bare PipelineSpec in YAML, schema
  2.1.0 (the only one its API server accepts). Its compiler rejects resolver tasks, so the
  Evaluator's baseline comes from the serving directory (components/latest_pushed_model),
  never from cache. Every task runs orchestration.kubeflow.entrypoint, which hands TFX's
  entrypoint what this backend's driver and launcher send in the shape TFX reads.
- "vertex", Vertex AI Pipelines: a PipelineJob in JSON, as TFX writes it, with TFX's
  resolver and TFX's own task command.

Volumes (open-source KFP): `--pvc NAME:PATH` appends a Kubernetes platform spec, as
kfp-kubernetes writes it, so that every task mounts that PersistentVolumeClaim at PATH:
the way to give an --output-dir on a volume to every pod.

Resources become each backend's fields: the open-source driver reads Kubernetes
quantities from `resourceCpuLimit`, `resourceMemoryLimit`, ... and a GPU resource name
and count from `accelerator.resourceType/resourceCount`; Vertex AI reads `cpuLimit`
(CPUs), `memoryLimit` (GB) and `accelerator.type/count` (a machine GPU type).
"""

import dataclasses
import json
import os
import re
import tempfile

import yaml

from pipeline import component_ids, configs

TARGETS = ("kubeflow", "vertex")
SPEC_EXTENSIONS = {"kubeflow": (".yaml", ".yml"), "vertex": (".json",)}
DEFAULT_SPECS = {"kubeflow": "pipeline.yaml", "vertex": "pipeline.json"}
TASK_COMMAND = ["python", "-m", "orchestration.kubeflow.entrypoint"]
# Never cached on any backend: it reads the serving directory, not its inputs.
UNCACHED_COMPONENTS = (component_ids.LATEST_PUSHED_MODEL,)
DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"  # the Kubernetes resource name of NVIDIA's plugin
# Kubernetes names (RFC 1123 labels): pipeline names become parts of resource names, and
# PersistentVolumeClaims are named so.
KUBERNETES_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
CPU_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(m?)")
MEMORY_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?")
MEMORY_UNITS = {
    None: 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip


class CompileError(ValueError):
    """Settings that cannot make a spec for the target; the message names the flag."""


@dataclasses.dataclass(frozen=True)
class Resources:
    """What each task asks for; None leaves it to the cluster's defaults."""

    cpu: str | None = None  # every task: a Kubernetes CPU quantity, "2" or "500m"
    memory: str | None = None  # every task: a Kubernetes memory quantity, "8Gi" or "16G"
    gpus: int = 0  # the Trainer's
    # The GPU kind: a Kubernetes resource name on open-source KFP (default nvidia.com/gpu);
    # a Vertex AI accelerator type there, e.g. NVIDIA_TESLA_T4 (required with --gpus).
    gpu_type: str | None = None
    # Open-source KFP: PersistentVolumeClaims every task mounts, as "NAME:/mount/path".
    volumes: tuple[str, ...] = ()


def check(config: configs.PipelineConfig, target: str, spec_path: str, resources: Resources):
    """Raises CompileError for what the target's backend would refuse later."""
    if target not in TARGETS:
        raise CompileError(f"--target {target!r}; use one of {TARGETS}.")
    if not spec_path.endswith(SPEC_EXTENSIONS[target]):
        raise CompileError(
            f"--spec {spec_path}: the {target} target writes "
            f"{' or '.join(SPEC_EXTENSIONS[target])} (e.g. --spec {DEFAULT_SPECS[target]})."
        )
    if not KUBERNETES_NAME.fullmatch(config.pipeline_name):
        raise CompileError(
            f"--pipeline-name {config.pipeline_name!r}: Kubeflow needs lower-case letters, "
            "digits and '-', starting and ending with a letter or digit."
        )
    if config.output_dir.startswith(("minio://", "s3://")):
        raise CompileError(
            f"--output-dir {config.output_dir}: the Pusher and LatestPushedModel write there "
            "with TensorFlow, which has no minio:// or s3:// filesystem. Use gs://... or a "
            "volume mounted at the same path in every pod."
        )
    if resources.cpu is not None:
        cpus(resources.cpu)
    if resources.memory is not None:
        gigabytes(resources.memory)
    if resources.gpus < 0:
        raise CompileError(f"--gpus {resources.gpus}; it must be 0 or more.")
    for volume in resources.volumes:
        name, path = claim_and_path(volume)
        if not KUBERNETES_NAME.fullmatch(name) or not path.startswith("/"):
            raise CompileError(
                f"--pvc {volume!r}: give a PersistentVolumeClaim's name and an absolute "
                "mount path, e.g. --pvc pets-data:/mnt/pets."
            )
    if target == "vertex" and resources.volumes:
        raise CompileError("--pvc is for open-source Kubeflow Pipelines (--target kubeflow).")
    if target == "vertex" and resources.gpus and not resources.gpu_type:
        raise CompileError(
            "--gpus on Vertex AI needs --gpu-type, an accelerator type such as NVIDIA_TESLA_T4."
        )


def cpus(quantity: str) -> float:
    match = CPU_QUANTITY.fullmatch(quantity)
    if not match or float(match.group(1)) <= 0:
        raise CompileError(f"--cpu {quantity!r}: use a Kubernetes CPU quantity, e.g. 2 or 500m.")
    return float(match.group(1)) / (1000 if match.group(2) else 1)


def gigabytes(quantity: str) -> float:
    match = MEMORY_QUANTITY.fullmatch(quantity)
    if not match or float(match.group(1)) <= 0:
        raise CompileError(
            f"--memory {quantity!r}: use a Kubernetes memory quantity, e.g. 8Gi or 16G."
        )
    return float(match.group(1)) * MEMORY_UNITS[match.group(2)] / 1e9


def resource_spec(target: str, resources: Resources, gpus: int):
    """The task's ResourceSpec proto in the target's fields, or None if nothing is asked."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec()
    if target == "kubeflow":
        # Request what is limited: the pod is scheduled where it fits, then capped.
        if resources.cpu:
            spec.resource_cpu_request = spec.resource_cpu_limit = resources.cpu
        if resources.memory:
            spec.resource_memory_request = spec.resource_memory_limit = resources.memory
        if gpus:
            spec.accelerator.resource_type = resources.gpu_type or DEFAULT_GPU_RESOURCE
            spec.accelerator.resource_count = str(gpus)
    else:
        if resources.cpu:
            spec.cpu_limit = cpus(resources.cpu)
        if resources.memory:
            spec.memory_limit = gigabytes(resources.memory)
        if gpus:
            spec.accelerator.type = resources.gpu_type
            spec.accelerator.count = gpus
    return spec if spec.ListFields() else None


def compile_pipeline(
    config: configs.PipelineConfig,
    image: str,
    spec_path: str,
    target: str = "kubeflow",
    resources: Resources = Resources(),
) -> str:
    """Writes the target's spec to spec_path (whole, or not at all); returns the path."""
    from tfx import v1 as tfx
    from tfx.dsl.components.base import base_component

    from pipeline.pipeline import create_pipeline

    check(config, target, spec_path, resources)
    if target == "kubeflow":
        config = dataclasses.replace(config, baseline_source="serving")
        runner_config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, default_commands=TASK_COMMAND, use_pipeline_spec_2_1=True
        )
    else:
        runner_config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image
        )
    pipeline = create_pipeline(config)  # no metadata config: the cluster's ML Metadata
    for component in pipeline.components:
        gpus = resources.gpus if component.id == component_ids.TRAINER else 0
        spec = resource_spec(target, resources, gpus)
        # Resolvers are not tasks with a container: nothing to ask for.
        if spec is not None and isinstance(component, base_component.BaseComponent):
            component.with_platform_config(spec)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(config=runner_config)
    job = runner.run(pipeline, write_out=False)
    if target == "kubeflow":
        spec = job["pipelineSpec"]
        for name, task in spec["root"]["dag"]["tasks"].items():
            if name in UNCACHED_COMPONENTS:
                task["cachingOptions"] = {"enableCache": False}
        documents = [spec]
        if resources.volumes:
            documents.append(platform_spec(spec, resources.volumes))
        text = "# Open-source Kubeflow Pipelines 2.x; compiled by kubeflow_runner.py.\n"
        text += yaml.safe_dump_all(documents, sort_keys=True)
    else:
        text = json.dumps(job, sort_keys=True)
    write_atomically(spec_path, text)
    return spec_path


def claim_and_path(volume: str) -> tuple[str, str]:
    """--pvc's "NAME:PATH" -> (NAME, PATH)."""
    name, _, path = volume.partition(":")
    return name, path


def platform_spec(spec: dict, volumes) -> dict:
    """The Kubernetes platform spec that mounts each PVC in every task (what kfp-kubernetes's
    mount_pvc writes). The PVC name goes in `constant`: deprecated since KFP 2.5 but still
    read there, and the only field that drivers 2.0 to 2.4 read."""
    mounts = []
    for volume in volumes:
        name, path = claim_and_path(volume)
        mounts.append({"constant": name, "mountPath": path})
    executors = spec["deploymentSpec"]["executors"]
    return {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        label: {"pvcMount": mounts}
                        for label, executor in executors.items()
                        if "container" in executor
                    }
                }
            }
        }
    }


def write_atomically(path: str, text: str):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as file:
        file.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(file.name, 0o666 & ~umask)  # as open() would make it, not the temp file's 0600
    os.replace(file.name, path)
