"""Scene specification, seeded sampling, camera model and label projection (no bpy)."""
