"""The simulated battery: ``battery_state`` (sensor_msgs/BatteryState) that drains while the base
drives, with fault knobs (:class:`sim.faults.BatteryFaults`: a faster drain, a sudden drop, no
more messages).

Charge is BatteryState's ``percentage``, 0..1 as the message defines it; it falls by
``drain_per_metre`` for each metre the base moves (whatever moves it: our navigate_to_pose or
the Nav2 stand-ins), measured at each message, ``rate`` times a second.
"""
import math

from sensor_msgs.msg import BatteryState

VOLTAGE_FULL, VOLTAGE_EMPTY = 25.2, 19.8      # a 6-cell pack, volts


class Battery:
    def __init__(self, node, config, base, faults):
        self.node, self.base, self.faults = node, base, faults
        self.charge = float(config["start"])
        self.per_metre = float(config["drain_per_metre"])
        self.published = 0
        self._last = (base.state.x, base.state.y)
        self._dropped = 0.0          # the drop knob's value last applied (each new value once)
        self._publisher = node.create_publisher(BatteryState, "battery_state", 10)
        self.timer = node.create_timer(1.0 / float(config["rate"]), self.step)

    def step(self):
        x, y = self.base.state.x, self.base.state.y
        moved = math.hypot(x - self._last[0], y - self._last[1]) if all(map(math.isfinite, (x, y))) else 0.0
        self._last = (x, y)
        factor = self.faults.drain_factor or 1.0
        self.charge -= moved * self.per_metre * factor
        drop = self.faults.drop
        if drop != self._dropped:
            self._dropped = drop
            self.charge -= drop
        self.charge = min(1.0, max(0.0, self.charge))
        if not self.faults.stop_publishing:
            self._publisher.publish(self.message())
            self.published += 1

    def message(self) -> BatteryState:
        msg = BatteryState()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.percentage = float(self.charge)
        msg.voltage = VOLTAGE_EMPTY + (VOLTAGE_FULL - VOLTAGE_EMPTY) * self.charge
        msg.present = True
        msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
        msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_LION
        return msg

    def status(self) -> dict:
        return {"percentage": self.charge, "published": self.published}
