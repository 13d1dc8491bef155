"""OpenSim-compatible kinematics: .osim parsing, torch FK/IK/scaling, TRC/MOT/C3D IO, OpenSim backend."""
