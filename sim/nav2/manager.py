"""Nav2's lifecycle managers: ``lifecycle_manager_navigation`` and
``lifecycle_manager_localization``, each serving ``<manager>/manage_nodes``
(nav2_msgs/srv/ManageLifecycleNodes, what BasicNavigator's ``lifecycleStartup()`` and
``lifecycleShutdown()`` call) and ``<manager>/is_active`` (std_srvs/Trigger), over the states of
sim/nav2/lifecycle.py. ``manage_nodes`` has the service fault knobs under
``<manager>.manage_nodes``; ``fail_all`` answers ``success: false`` and changes nothing.
"""
from nav2_msgs.srv import ManageLifecycleNodes
from std_srvs.srv import Trigger

from sim.nav2.lifecycle import COMMANDS
from sim.services import service_faults


class Manager:
    def __init__(self, stack, name: str):
        self.stack, self.name = stack, name
        self.node = stack.nodes[name]
        self.faults = stack.faults_for(f"{name}.manage_nodes", "service")
        self.calls = 0
        self.node.create_service(ManageLifecycleNodes, "~/manage_nodes", self._manage, callback_group=stack.clock.group)
        self.node.create_service(Trigger, "~/is_active", self._is_active)

    async def _manage(self, request, response):
        self.calls += 1
        failure = await service_faults(self.faults, self.stack.clock, f"{self.name}/manage_nodes", self.calls)
        command = COMMANDS.get(request.command, (str(request.command),))[0]
        reason = failure or self.stack.lifecycle.command(self.name, request.command)
        logger = self.node.get_logger()
        if reason:
            logger.warning(f"{command} failed: {reason}")
        else:
            logger.info(f"{command}: {', '.join(self.stack.lifecycle.managers[self.name])} now "
                        f"{self.stack.lifecycle.state(self.stack.lifecycle.managers[self.name][0])}")
        response.success = not reason
        return response

    def _is_active(self, request, response):
        response.success = self.stack.lifecycle.all_active(self.name)
        response.message = "active" if response.success else "not all managed nodes are active"
        return response
