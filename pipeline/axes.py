"""Every axis convention conversion lives here, and only here.

Conventions:

- OpenSim (the hub): Y up, X forward (anterior), Z right, metres.
- Blender and Anny: Z up, metres. We map OpenSim X (forward) to Blender -Y so that a person
  walking along OpenSim +X walks along Blender -Y, towards Blender's default front view.
- SMPL-X / SMPL-H: Y up, metres, the same handedness as OpenSim, the body facing +Z.
- AMASS worlds: Z up (the global orientation stands the SMPL body up); mapped like Blender's.

All functions take arrays of shape ``(..., 3)`` (points) or ``(..., 3, 3)`` (rotations) and work
with numpy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np

#: Rotation taking OpenSim world coordinates (Y up) to Blender world coordinates (Z up):
#: blender = R @ opensim. OpenSim +X (forward) -> Blender -Y, +Y (up) -> +Z, +Z (right) -> -X
#: (a person facing Blender -Y has their right hand towards -X).
OPENSIM_TO_BLENDER = np.array(
    [[0.0, 0.0, -1.0],
     [-1.0, 0.0, 0.0],
     [0.0, 1.0, 0.0]]
)
BLENDER_TO_OPENSIM = OPENSIM_TO_BLENDER.T

#: Anny meshes are Z up like Blender, with the body facing Blender -Y.
ANNY_TO_OPENSIM = BLENDER_TO_OPENSIM
OPENSIM_TO_ANNY = OPENSIM_TO_BLENDER

#: SMPL-family meshes are Y up with the body facing +Z; OpenSim's body faces +X.
#: opensim = R @ smpl: SMPL +Z (forward) -> OpenSim +X, +Y -> +Y, +X (body left) -> -Z.
SMPL_TO_OPENSIM = np.array(
    [[0.0, 0.0, 1.0],
     [0.0, 1.0, 0.0],
     [-1.0, 0.0, 0.0]]
)
OPENSIM_TO_SMPL = SMPL_TO_OPENSIM.T

#: AMASS worlds (MoSh++ output) are Z up. odah maps them like Blender's world, so a body whose
#: SMPL forward (+Z) the global orientation turns to world -Y (AMASS's usual upright orientation,
#: a +90 deg rotation about X) faces OpenSim +X.
AMASS_TO_OPENSIM = BLENDER_TO_OPENSIM

#: A Z-up lab frame (most C3D files): X stays X, Z becomes up, Y becomes -Z. opensim = R @ lab.
ZUP_TO_OPENSIM = np.array(
    [[1.0, 0.0, 0.0],
     [0.0, 0.0, 1.0],
     [0.0, -1.0, 0.0]]
)


def apply(rotation: np.ndarray, points):
    """Rotate points ``(..., 3)`` by a 3x3 ``rotation``; numpy or torch in, same type out."""
    try:
        import torch

        if isinstance(points, torch.Tensor):
            r = torch.as_tensor(rotation, dtype=points.dtype, device=points.device)
            return points @ r.T
    except ImportError:  # the render environment has no torch
        pass
    return np.asarray(points) @ np.asarray(rotation).T


def opensim_to_blender(points):
    """OpenSim world points ``(..., 3)`` metres -> Blender world points ``(..., 3)`` metres."""
    return apply(OPENSIM_TO_BLENDER, points)


def blender_to_opensim(points):
    """Blender world points ``(..., 3)`` metres -> OpenSim world points ``(..., 3)`` metres."""
    return apply(BLENDER_TO_OPENSIM, points)


def anny_to_opensim(points):
    """Anny model-space points ``(..., 3)`` metres -> OpenSim world ``(..., 3)`` metres."""
    return apply(ANNY_TO_OPENSIM, points)


def opensim_to_anny(points):
    """OpenSim world ``(..., 3)`` metres -> Anny model space ``(..., 3)`` metres."""
    return apply(OPENSIM_TO_ANNY, points)


def smpl_to_opensim(points):
    """SMPL-family points ``(..., 3)`` metres -> OpenSim world ``(..., 3)`` metres."""
    return apply(SMPL_TO_OPENSIM, points)


def opensim_to_smpl(points):
    """OpenSim world ``(..., 3)`` metres -> SMPL-family points ``(..., 3)`` metres."""
    return apply(OPENSIM_TO_SMPL, points)
