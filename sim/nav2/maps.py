"""Nav2's map server and costmaps: ``map_server/load_map``, ``map_server/map``, the latched ``map``
topic, and each costmap's ``get_costmap`` and clearing services.

The simulated world is free space within the map bounds (``navigation.bounds``):

===============================================  ==================================================
name                                             answer
===============================================  ==================================================
``map`` (nav_msgs/OccupancyGrid, latched),       a free grid over the bounds, ``nav2.map_resolution``
``map_server/map`` (nav_msgs/srv/GetMap)         m per cell, origin at the lower-left corner
``map_server/load_map`` (nav2_msgs/srv/LoadMap)  reads a map_server YAML file; its image's size
                                                 (PGM or PNG header), ``resolution`` and
                                                 ``origin`` become the new map and bounds (its
                                                 pixels are not read: the map stays free)
``global_costmap/get_costmap``                   the map as a costmap (nav2_msgs/Costmap, all 0:
                                                 FREE_SPACE), frame ``map``
``local_costmap/get_costmap``                    a ``nav2.local_costmap_size`` m square around the
                                                 base, all free, frame ``odom`` (= map in the sim)
``*/clear_*`` (ClearEntireCostmap,               clear nothing (nothing is there) and answer;
ClearCostmapExceptRegion, ...AroundRobot)        counted in ``sim_status``
===============================================  ==================================================

LoadMap answers ``RESULT_MAP_DOES_NOT_EXIST`` for a missing file, ``RESULT_INVALID_MAP_METADATA``
for YAML without ``image``, ``resolution`` and ``origin``, ``RESULT_INVALID_MAP_DATA`` for an
image that is missing or not PGM/PNG. Every service has the service fault knobs
(``response_delay``, ``fail_all``, ``exit_after_calls``), named ``map_server.load_map.*``,
``global_costmap.get_costmap.*``, ...: with ``fail_all`` load_map answers
``RESULT_UNDEFINED_FAILURE`` and get_costmap an empty (0 x 0) costmap; the clearing services have
nothing to fail with.
"""
import array
import math
from collections import Counter

from nav2_msgs.msg import Costmap
from nav2_msgs.srv import ClearCostmapAroundRobot, ClearCostmapExceptRegion, ClearEntireCostmap, GetCostmap, LoadMap
from nav_msgs.msg import OccupancyGrid
from nav_msgs.srv import GetMap
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from sim.nav2.mapfile import read_map_yaml
from sim.services import service_faults
from sim.nav2.motion import GridGraph

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


class Maps:
    """The map server's and the costmaps' services on their stand-in nodes."""

    def __init__(self, stack):
        self.stack = stack
        self.base = stack.base
        self.resolution = float(stack.config["map_resolution"])
        self.counts = Counter()
        self.in_flight = 0
        self.loaded_at = stack.base.stamp()
        map_node = stack.nodes["map_server"]
        self._map_pub = map_node.create_publisher(OccupancyGrid, "map", LATCHED)
        self._serve(map_node, LoadMap, "map_server/load_map", self._load_map)
        self._serve(map_node, GetMap, "map_server/map", self._get_map)
        for costmap in ("global_costmap", "local_costmap"):
            node = stack.nodes[costmap]
            self._serve(node, GetCostmap, f"{costmap}/get_costmap", self._costmap_getter(costmap))
            self._serve(node, ClearEntireCostmap, f"{costmap}/clear_entirely_{costmap}", self._cleared)
            self._serve(node, ClearCostmapExceptRegion, f"{costmap}/clear_costmap_except_region", self._cleared)
            self._serve(node, ClearCostmapAroundRobot, f"{costmap}/clear_costmap_around_robot", self._cleared)
        self._map_pub.publish(self.occupancy_grid())

    def _serve(self, node, srv_type, name: str, handler):
        """``name`` relative to the robot's namespace; the node's own namespace is Nav2's."""
        faults = self.stack.faults_for(name.replace("/", "."), "service")

        async def answer(request, response):
            self.counts[name] += 1
            self.in_flight += 1
            try:
                failure = await service_faults(faults, self.stack.clock, name, self.counts[name])
                return handler(request, response, bool(failure))
            finally:
                self.in_flight -= 1

        node.create_service(srv_type, f"{self.stack.namespace}/{name}", answer, callback_group=self.stack.clock.group)

    def status(self) -> dict:
        return {"in_flight": self.in_flight, **self.counts}

    # -- map server ----------------------------------------------------------------------------
    def grid_size(self, bounds, resolution):
        xmin, xmax, ymin, ymax = bounds
        return max(0, math.ceil((xmax - xmin) / resolution - 1e-9)), max(0, math.ceil((ymax - ymin) / resolution - 1e-9))

    def occupancy_grid(self) -> OccupancyGrid:
        grid = OccupancyGrid()
        grid.header.frame_id = self.base.frame
        grid.header.stamp = self.base.stamp()
        width, height = self.grid_size(self.base.bounds, self.resolution)
        grid.info.map_load_time = self.loaded_at
        grid.info.resolution = self.resolution
        grid.info.width, grid.info.height = width, height
        grid.info.origin.position.x, grid.info.origin.position.y = self.base.bounds[0], self.base.bounds[2]
        grid.info.origin.orientation.w = 1.0
        grid.data = array.array("b", bytes(width * height))   # 0: free
        return grid

    def _load_map(self, request, response, fail):
        if fail:
            response.result = LoadMap.Response.RESULT_UNDEFINED_FAILURE
            return response
        result, bounds, resolution = read_map_yaml(request.map_url)
        response.result = getattr(LoadMap.Response, result)
        if bounds is not None:
            self.base.bounds, self.resolution, self.loaded_at = bounds, resolution, self.base.stamp()
            self.stack.graph = GridGraph(bounds, float(self.stack.config["route_spacing"]))
            response.map = self.occupancy_grid()
            self._map_pub.publish(response.map)
        return response

    def _get_map(self, request, response, fail):
        response.map = self.occupancy_grid()
        return response

    # -- costmaps ------------------------------------------------------------------------------
    def _costmap_getter(self, costmap):
        def get(request, response, fail):
            response.map = Costmap() if fail else self.costmap(costmap)
            return response
        return get

    def costmap(self, which: str) -> Costmap:
        msg = Costmap()
        msg.header.stamp = self.base.stamp()
        msg.metadata.map_load_time = self.loaded_at
        msg.metadata.update_time = msg.header.stamp
        msg.metadata.layer = "master"
        msg.metadata.resolution = self.resolution
        msg.metadata.origin.orientation.w = 1.0
        if which == "global_costmap":
            msg.header.frame_id = self.base.frame
            bounds = self.base.bounds
        else:
            msg.header.frame_id = "odom"
            half = float(self.stack.config["local_costmap_size"]) / 2
            state = self.base.state
            bounds = [state.x - half, state.x + half, state.y - half, state.y + half]
        size_x, size_y = self.grid_size(bounds, self.resolution)
        msg.metadata.size_x, msg.metadata.size_y = size_x, size_y
        msg.metadata.origin.position.x, msg.metadata.origin.position.y = bounds[0], bounds[2]
        msg.data = array.array("B", bytes(size_x * size_y))   # 0: FREE_SPACE
        return msg

    def _cleared(self, request, response, fail):
        return response
