"""Diagnostics messages carry level, message and ordered key/values."""

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus

from sky2ground_ros.ros.diagnostics import diagnostic_array, diagnostic_status


def test_status_levels_and_values() -> None:
    status = diagnostic_status(
        "sky2ground: model", "warn", "slow", {"latency_ms": 12.3456789, "device": "cpu"}
    )
    assert status.level == DiagnosticStatus.WARN
    assert [(kv.key, kv.value) for kv in status.values] == [
        ("latency_ms", "12.3457"),
        ("device", "cpu"),
    ]
    array = diagnostic_array(Time(sec=5), [status])
    assert array.header.stamp.sec == 5 and array.status[0].message == "slow"
