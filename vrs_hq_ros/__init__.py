"""vrs_hq_ros: language-guided video segmentation (VRS-HQ) for ROS 2.

The generated message modules (``vrs_hq_ros.msg``) live in the colcon install
tree, the hand-written ones here; ``extend_path`` lets one package span both.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"
