"""What the plugins declare: kinds, parameters (the mission language's types) and blackboard keys.
No ROS is imported here: validating a mission reads these without loading the behaviours."""
from behaviors.plugins import Plugin
from executive.language.kinds import Field, seconds

CHARGE = Plugin(
    kind="charge",
    behaviour="mission_example_plugins.behaviours:Charge",
    doc="charge the battery to a target (mission_example_interfaces/action/Charge)",
    parameters={
        "target": Field("number", default=0.9, minimum=0.0, maximum=1.0, exclusive_minimum=True,
                        doc="the charge to reach, 0..1 (BatteryState's percentage)"),
        "action": Field("string", default="charge", doc="action server name, relative to the robot's namespace"),
        "type": Field("string", default="mission_example_interfaces/action/Charge", doc="action type"),
        "server_timeout": seconds("seconds to wait for the charger", maximum=3600.0, default=5.0),
        "timeout": seconds("seconds before the goal is cancelled and the leaf fails"),
        "result": Field("string", doc="blackboard key for the result"),
    },
    writes={"{result}": "the Charge result {success, percentage, message}"},
)

ESTIMATE_RANGE = Plugin(
    kind="estimate_range",
    behaviour="mission_example_plugins.behaviours:EstimateRange",
    doc="estimate how far the robot can still drive from its battery's charge",
    parameters={
        "battery": Field("string", default="battery",
                         doc="blackboard key of a subscribe: record of sensor_msgs/BatteryState"),
        "metres_per_charge": Field("number", default=500.0, minimum=0.0, maximum=1e6, exclusive_minimum=True,
                                   doc="metres driven on a full charge"),
        "key": Field("string", default="range", doc="blackboard key for the range, metres"),
    },
    reads={"{battery}": "{data: BatteryState, fresh, ...} (a subscribe: record)"},
    writes={"{key}": "metres left (a number)"},
)
