"""Rendering: the launcher (no bpy), the bpy_* side (bpy only) and video encoding."""
