# Mobile VLA sim-in-the-loop: one image for a CUDA workstation (default) and for the robot's Jetson.
#
#   docker build -t mobile-vla .                                    # x86_64 + CUDA (PyTorch's own image)
#   docker build -t mobile-vla:jetson \
#       --build-arg BASE_IMAGE=dustynv/pytorch:2.6-r36.4.0-cu128-24.04 \
#       --build-arg ROS_DISTRO=jazzy .                              # Jetson Orin, JetPack 6 (L4T r36.4)
#
# The base image's torch is kept: it is the build made for that GPU (a Jetson needs NVIDIA's aarch64 CUDA
# build, which PyPI does not have). docs/docker.md explains the choice of base images.
ARG BASE_IMAGE=pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime
FROM ${BASE_IMAGE}

# A ROS 2 distribution to install from packages.ros.org (the robot image): "jazzy" on Ubuntu 24.04 images,
# "humble" on 22.04 ones whose Python is the system's 3.10. Empty: no ROS (sim, training, dry runs).
ARG ROS_DISTRO=""

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    ROS_DISTRO=${ROS_DISTRO}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# A compiler for wheels PyPI lacks on aarch64 (pybullet builds from source there); curl for the ROS key.
# Versions are not pinned (DL3008): one file serves Ubuntu 22.04 and 24.04 bases, whose versions differ.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# hadolint ignore=DL3008
RUN if [ -n "${ROS_DISTRO}" ]; then \
        curl -fsSL https://raw.githubusercontent.com/ros/rosdistro/master/ros.key \
            -o /usr/share/keyrings/ros-archive-keyring.gpg \
        && echo "deb [arch=$(dpkg --print-architecture) signed-by=/usr/share/keyrings/ros-archive-keyring.gpg] http://packages.ros.org/ros2/ubuntu $(. /etc/os-release && echo "${UBUNTU_CODENAME}") main" \
            > /etc/apt/sources.list.d/ros2.list \
        && apt-get update \
        && apt-get install -y --no-install-recommends "ros-${ROS_DISTRO}-ros-base" \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /opt/mobile-vla

# Dependencies first (a layer that survives code changes), pinned to the image's torch by a constraint:
# if a dependency ever asks for another torch, the build fails instead of pulling a build for the wrong GPU.
COPY pyproject.toml ./
RUN python3 -c "import torch; print(f'torch=={torch.__version__}')" > /etc/keep-torch.txt \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && python3 -m pip install --constraint /etc/keep-torch.txt --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN python3 -m pip install --no-deps --constraint /etc/keep-torch.txt . \
    && python3 -c "import torch, transformers, envs, episodes.log, agents.runtime, vla_model.deploy.export_onnx; print('torch', torch.__version__, 'cuda', torch.cuda.is_available() or 'not visible at build time')"

COPY docker/entrypoint.sh /usr/local/bin/mobile-vla-entrypoint
ENTRYPOINT ["/usr/local/bin/mobile-vla-entrypoint"]
CMD ["python3", "eval/run_robot.py", "--help"]
