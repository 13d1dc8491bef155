"""Body models, motion sources, virtual markers and retargeting onto the OpenSim skeleton."""
