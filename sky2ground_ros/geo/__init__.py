"""Geodesy and geo-registration (ROS-free).

`geodesy` (WGS84/ECEF/ENU/UTM through pyproj), `rotations` (scipy, ROS conventions),
`tile_camera` (a satellite tile as a nadir pinhole camera in ENU), `sim3` (similarity
estimation from cameras) and `registration` (robust Sim(3) from predicted tile cameras to
their ENU poses, mapping every camera of a window to ENU/WGS84 with a 6x6 covariance).
"""
