"""VRS-HQ model core (no ROS).

``vrshq.VRSHQ`` ties the parts together: ``llava_backbone`` (behind ``backbone``'s interface)
reads ``prompt``'s conversation and yields [SEG]/[TAK] states, ``projection`` maps them to
SAM2's prompt space, ``tda`` fuses them, ``clip_anchor`` + ``tks`` pick the keyframe,
``sam2_prompting`` decodes it on features from ``sam2_features`` / ``sam2_builder``.
``loss``, ``keyframe_propagation`` and ``training_step`` are the training path.
"""
