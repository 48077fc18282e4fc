#!/usr/bin/env bash
# Source ROS 2 when the image has it (rclpy and the message packages live there), then run the command.
set -e
if [ -n "${ROS_DISTRO:-}" ] && [ -f "/opt/ros/${ROS_DISTRO}/setup.bash" ]; then
    # shellcheck disable=SC1090
    source "/opt/ros/${ROS_DISTRO}/setup.bash"
fi
exec "$@"
