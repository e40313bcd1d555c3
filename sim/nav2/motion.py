"""Motion and geometry of the Nav2 stand-ins, without nodes or nav2_msgs: what each server does
to the base.

Every model moves a :class:`sim.navigation.BaseState` (x, y in metres, yaw in radians, map frame)
by ``step(dt)`` simulated seconds and returns True once done. A model that cannot go on sets
``error`` (the name of the Nav2 result constant, e.g. ``"COLLISION_AHEAD"``) and ``failure`` (a
message) and returns False. The servers in this package turn models into goals, feedback and
results; tests drive the models directly.
"""
import heapq
import math

from sim.navigation import PathFollower, wrap_angle

EARTH_RADIUS = 6378137.0   # metres (WGS 84 equatorial radius)


class Model:
    error = ""
    failure = ""

    def fail(self, error: str, failure: str) -> bool:
        self.error, self.failure = error, failure
        return False


def inside(bounds, x: float, y: float) -> bool:
    xmin, xmax, ymin, ymax = bounds
    return xmin <= x <= xmax and ymin <= y <= ymax


class Turn(Model):
    """Nav2's Spin: turn in place by ``angle`` radians (sign = direction) at ``speed`` rad/s.
    ``traveled`` is the angle turned so far (radians, positive)."""

    def __init__(self, base, angle: float, speed: float):
        self.base, self.angle, self.speed = base, float(angle), float(speed)
        self.traveled = 0.0

    def step(self, dt):
        turn = min(self.speed * dt, abs(self.angle) - self.traveled)
        self.traveled += turn
        self.base.yaw = wrap_angle(self.base.yaw + math.copysign(turn, self.angle))
        return self.traveled >= abs(self.angle)


class Straight(Model):
    """Nav2's DriveOnHeading and BackUp: drive ``distance`` metres along the current heading at
    ``speed`` m/s (negative: backwards), without turning. With ``bounds`` (the edge of the
    costmap), a step that would leave them ends the motion with COLLISION_AHEAD, as Nav2's
    collision check does; ``bounds=None`` disables the check (``disable_collision_checks``)."""

    def __init__(self, base, distance: float, speed: float, bounds=None):
        self.base, self.distance, self.speed, self.bounds = base, abs(float(distance)), float(speed), bounds
        self.start = (base.x, base.y)
        self.traveled = 0.0

    def step(self, dt):
        # positions from the start, not step by step: no rounding creeps past the goal or the edge
        traveled = min(self.traveled + abs(self.speed) * dt, self.distance)
        along = traveled if self.speed > 0 else -traveled
        x = self.start[0] + along * math.cos(self.base.yaw)
        y = self.start[1] + along * math.sin(self.base.yaw)
        if self.bounds is not None and not inside(self.bounds, x, y):
            return self.fail("COLLISION_AHEAD", f"collision ahead: ({x:.3f}, {y:.3f}) is outside the map")
        self.base.x, self.base.y, self.traveled = x, y, traveled
        return self.traveled >= self.distance


class Teleop(Model):
    """Nav2's AssistedTeleop: follow the latest teleop velocity (vx, vy in m/s in the base frame,
    wz in rad/s) until ``stop()``; a velocity that would leave ``bounds`` is zeroed (the collision
    check of assisted teleop stops the robot at obstacles)."""

    def __init__(self, base, bounds):
        self.base, self.bounds = base, bounds
        self.velocity = (0.0, 0.0, 0.0)
        self.stopped = False

    def stop(self):
        self.stopped = True

    def step(self, dt):
        if self.stopped:
            return True
        vx, vy, wz = self.velocity
        c, s = math.cos(self.base.yaw), math.sin(self.base.yaw)
        x = self.base.x + dt * (vx * c - vy * s)
        y = self.base.y + dt * (vx * s + vy * c)
        if inside(self.bounds, x, y):
            self.base.x, self.base.y = x, y
            self.base.yaw = wrap_angle(self.base.yaw + dt * wz)
        return False


class Dwell(Model):
    """Stand still for ``seconds`` (Nav2's Wait, a waypoint's pause)."""

    def __init__(self, seconds: float):
        self.seconds = max(0.0, float(seconds))
        self.elapsed = 0.0

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed)

    def step(self, dt):
        self.elapsed += dt
        return self.elapsed >= self.seconds


class Stages(Model):
    """Models run one after the other: [(label, model or None), ...]; None is an instant stage.
    ``label`` is the current stage's label; the failure of a stage is the failure of the whole."""

    def __init__(self, stages):
        self.stages = list(stages)
        self.index = 0

    @property
    def label(self):
        """The label of the stage running (of the last once all are done; None if there are none)."""
        return self.stages[min(self.index, len(self.stages) - 1)][0] if self.stages else None

    @property
    def current(self):
        return self.stages[self.index][1] if self.index < len(self.stages) else None

    def step(self, dt):
        while self.index < len(self.stages):
            model = self.stages[self.index][1]
            if model is not None:
                done = model.step(dt)
                if model.failure:
                    return self.fail(model.error, model.failure)
                if not done:
                    return False
                dt = 0.0
            self.index += 1
        return True


class Waypoints(Model):
    """Nav2's waypoint follower: drive to each (x, y, yaw) in ``targets`` in turn at ``speed``,
    pausing ``pause`` seconds at each. A target for which ``check(i)`` returns a reason is skipped
    and recorded in ``missed`` as (index, reason); with ``stop_on_failure`` the first miss fails
    the whole with STOP_ON_MISSED_WAYPOINT. ``current`` is the index of the target driven to."""

    def __init__(self, base, targets, speed: float, pause: float = 0.0, check=None, stop_on_failure=False,
                 indices=None):
        self.base, self.targets, self.speed, self.pause = base, list(targets), speed, pause
        self.indices = list(indices) if indices is not None else list(range(len(self.targets)))
        self.check = check or (lambda i: "")
        self.stop_on_failure = stop_on_failure
        self.position = 0          # into targets
        self.missed = []
        self._leg = None

    @property
    def current(self) -> int:
        return self.indices[min(self.position, len(self.indices) - 1)] if self.indices else 0

    def step(self, dt):
        while self.position < len(self.targets):
            if self._leg is None:
                reason = self.check(self.current)
                if reason:
                    self.missed.append((self.current, reason))
                    if self.stop_on_failure:
                        return self.fail("STOP_ON_MISSED_WAYPOINT",
                                         f"failed to process waypoint {self.current}: {reason}")
                    self.position += 1
                    continue
                x, y, yaw = self.targets[self.position]
                self._leg = Stages([("drive", PathFollower(self.base, [(x, y)], self.speed, yaw)),
                                    ("pause", Dwell(self.pause))])
            if not self._leg.step(dt):
                return False
            dt = 0.0
            self._leg = None
            self.position += 1
        return True


# -- paths ------------------------------------------------------------------------------------

def sample_path(points, resolution: float, final_yaw=None):
    """A straight-line path through ``points`` [(x, y), ...] as poses [(x, y, yaw), ...] spaced at
    most ``resolution`` metres apart, each heading along its segment; the last pose has
    ``final_yaw`` (or the last segment's heading). Every given point is on the path."""
    if resolution <= 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    points = [(float(x), float(y)) for x, y in points]
    poses = []
    heading = final_yaw if final_yaw is not None else 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        heading = math.atan2(y1 - y0, x1 - x0)
        n = max(1, math.ceil(length / resolution))
        poses += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n, heading) for i in range(n)]
    x, y = points[-1]
    poses.append((x, y, heading if final_yaw is None else final_yaw))
    return poses


def smooth_path(poses, iterations: int, weight: float = 0.5):
    """Move each interior pose toward the midpoint of its neighbours, ``iterations`` times; the
    ends stay. Headings follow the smoothed path; the last pose keeps its yaw. A straight, evenly
    sampled path comes back unchanged."""
    xy = [(x, y) for x, y, _ in poses]
    for _ in range(max(0, iterations)):
        xy = [xy[0]] + [((1 - weight) * x + weight * (a[0] + b[0]) / 2, (1 - weight) * y + weight * (a[1] + b[1]) / 2)
                        for a, (x, y), b in zip(xy, xy[1:], xy[2:])] + ([xy[-1]] if len(xy) > 1 else [])
    out = []
    for i, (x, y) in enumerate(xy):
        if i + 1 < len(xy):
            yaw = math.atan2(xy[i + 1][1] - y, xy[i + 1][0] - x)
        else:
            yaw = poses[-1][2]
        out.append((x, y, yaw))
    return out


# -- docking ----------------------------------------------------------------------------------

def staging_pose(dock, offset: float):
    """The staging pose of a dock at (x, y, yaw): ``offset`` metres along the dock's x axis
    (negative: in front of a forward dock), facing the dock (opennav_docking's SimpleChargingDock)."""
    x, y, yaw = dock
    return (x + offset * math.cos(yaw), y + offset * math.sin(yaw), yaw)


# -- GPS ----------------------------------------------------------------------------------------

def gps_to_map(latitude: float, longitude: float, origin):
    """(x east, y north) in metres of a WGS 84 position, on the plane tangent at ``origin``
    (latitude, longitude of the map's origin, degrees); equirectangular, good to centimetres
    over a few hundred metres."""
    lat0, lon0 = origin
    x = math.radians(longitude - lon0) * EARTH_RADIUS * math.cos(math.radians(lat0))
    y = math.radians(latitude - lat0) * EARTH_RADIUS
    return x, y


def map_to_gps(x: float, y: float, origin):
    """The inverse of :func:`gps_to_map`: (latitude, longitude) in degrees."""
    lat0, lon0 = origin
    latitude = lat0 + math.degrees(y / EARTH_RADIUS)
    longitude = lon0 + math.degrees(x / (EARTH_RADIUS * math.cos(math.radians(lat0))))
    return latitude, longitude


# -- route graph --------------------------------------------------------------------------------

class GridGraph:
    """The route server's graph: nodes on a grid ``spacing`` metres apart over ``bounds``, each
    joined to its four neighbours by an edge in each direction. Node ids count from 0 row by row
    (x fastest); edge ids from 0. Edge cost is its length."""

    def __init__(self, bounds, spacing: float):
        if spacing <= 0:
            raise ValueError(f"route spacing must be positive, got {spacing}")
        xmin, xmax, ymin, ymax = bounds
        xs = [xmin + i * spacing for i in range(int(math.floor((xmax - xmin) / spacing + 1e-9)) + 1)]
        ys = [ymin + j * spacing for j in range(int(math.floor((ymax - ymin) / spacing + 1e-9)) + 1)]
        self.nodes = {j * len(xs) + i: (x, y) for j, y in enumerate(ys) for i, x in enumerate(xs)}
        self.edges = {}           # edge id -> (from node, to node)
        self._out = {n: [] for n in self.nodes}
        for j in range(len(ys)):
            for i in range(len(xs)):
                here = j * len(xs) + i
                for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    if 0 <= i + di < len(xs) and 0 <= j + dj < len(ys):
                        edge = len(self.edges)
                        self.edges[edge] = (here, (j + dj) * len(xs) + i + di)
                        self._out[here].append(edge)

    def nearest(self, x: float, y: float) -> int:
        return min(self.nodes, key=lambda n: math.hypot(self.nodes[n][0] - x, self.nodes[n][1] - y))

    def length(self, edge: int) -> float:
        a, b = self.edges[edge]
        return math.hypot(self.nodes[b][0] - self.nodes[a][0], self.nodes[b][1] - self.nodes[a][1])

    def route(self, start: int, goal: int):
        """The cheapest route: (node ids, edge ids, cost), or None if ``goal`` cannot be reached."""
        best = {start: 0.0}
        came = {}
        queue = [(0.0, start)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == goal:
                break
            if cost > best[node]:
                continue
            for edge in self._out[node]:
                nxt = self.edges[edge][1]
                new = cost + self.length(edge)
                if new < best.get(nxt, math.inf):
                    best[nxt], came[nxt] = new, edge
                    heapq.heappush(queue, (new, nxt))
        if goal not in best:
            return None
        nodes, edges = [goal], []
        while nodes[-1] != start:
            edge = came[nodes[-1]]
            edges.append(edge)
            nodes.append(self.edges[edge][0])
        return nodes[::-1], edges[::-1], best[goal]
